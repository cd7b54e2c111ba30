<?php
// Makes the limits service's directory match Plesk's subscriptions, domains, mail accounts and service plans,
// keeping every limit and count; takes over limit values changed in Plesk's own forms since last seen; switches
// Plesk's own limiting off again if someone switched it on; reports Plesk's state to the service.
// Run (as root): plesk bin extension --exec outgoing-mail-limits resync.php
pm_Context::init('outgoing-mail-limits');

try {
    $say = function ($line) {
        echo $line, "\n";
        pm_Log::warn('Outgoing mail limits: ' . $line);
    };
    $bridge = Modules_OutgoingMailLimits_BridgeClient::forIntegration();
    $limits = Modules_OutgoingMailLimits_PleskLimits::forExtension();
    $plesk = $limits->read();
    $counts = (new Modules_OutgoingMailLimits_DirectorySync($bridge, $limits, $say))->fullResync($plesk);
    pm_Settings::set(Modules_OutgoingMailLimits_DirectorySync::RESYNC_NEEDED_SETTING, '');
    echo 'Directory synchronized: ' . json_encode($counts) . "\n";
    $limits->keepNativeOff($plesk['server'], $say);
    $postfixConfigDir = getenv('OML_POSTFIX_CONFIG_DIR') ?: '/etc/postfix';
    Modules_OutgoingMailLimits_PleskLimits::report($bridge, false, Modules_OutgoingMailLimits_PleskMailServer::detect($plesk['server']['components'], $postfixConfigDir), $say);
    exit(0);
} catch (Exception $error) {
    fwrite(STDERR, 'Directory synchronization failed: ' . $error->getMessage() . "\n");
    exit(1);
}
