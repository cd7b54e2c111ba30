<?php
// Makes the limits service's directory match Plesk's subscriptions, domains and mail accounts, keeping every
// limit and count. Run: plesk bin extension --exec outgoing-mail-limits resync.php
pm_Context::init('outgoing-mail-limits');

try {
    $counts = (new Modules_OutgoingMailLimits_DirectorySync(Modules_OutgoingMailLimits_BridgeClient::forIntegration()))->fullResync();
    pm_Settings::set(Modules_OutgoingMailLimits_DirectorySync::RESYNC_NEEDED_SETTING, '');
    echo 'Directory synchronized: ' . json_encode($counts) . "\n";
    exit(0);
} catch (Exception $error) {
    fwrite(STDERR, 'Directory synchronization failed: ' . $error->getMessage() . "\n");
    exit(1);
}
