<?php
// Prepended to post-install.php and pre-uninstall.php in the install tests: the pm_ stand-ins, the unpacked
// extension's directories (OML_TEST_PLIB_DIR, OML_TEST_VAR_DIR), Plesk's users, and the Plesk server of the
// state file PLESK_STANDIN_STATE (domains, mail accounts, plans and outgoing mail values), which the XML API
// stand-in and the `plesk` command stand-in share.
require __DIR__ . '/plesk/bootstrap.php';

pm_Context::$plibDir = getenv('OML_TEST_PLIB_DIR');
pm_Context::$varDir = getenv('OML_TEST_VAR_DIR');
new pm_Client(1, 'admin', 'admin');
new pm_Client(10, 'res1', 'reseller');
new pm_Client(20, 'jdoe', 'client', 10);
pm_ApiRpc::$stateFile = getenv('PLESK_STANDIN_STATE');
pm_ApiRpc::load();
