<?php
// Run by Plesk as root before the extension's files are removed. The data is kept unless the administrator set
// removeDataOnUninstall (plesk bin extension --exec ... or the settings) or OML_REMOVE_DATA=1.
pm_Context::init('outgoing-mail-limits');

try {
    $removeData = pm_Settings::get(Modules_OutgoingMailLimits_Installer::REMOVE_DATA_SETTING) === 'true' || getenv('OML_REMOVE_DATA') === '1';
    Modules_OutgoingMailLimits_Installer::forExtension()->uninstall($removeData);
    exit(0);
} catch (Exception $error) {
    fwrite(STDERR, $error->getMessage() . "\n");
    exit(1);
}
