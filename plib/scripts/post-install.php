<?php
// Run by Plesk as root after install and upgrade. See Modules_OutgoingMailLimits_Installer for the order of steps.
pm_Context::init('outgoing-mail-limits');

try {
    Modules_OutgoingMailLimits_Installer::forExtension()->install();
    exit(0);
} catch (Exception $error) {
    fwrite(STDERR, $error->getMessage() . "\n");
    exit(1);
}
