<?php
// Prepended to post-install.php and pre-uninstall.php in the install tests: the pm_ stand-ins, the unpacked
// extension's directories (OML_TEST_PLIB_DIR, OML_TEST_VAR_DIR) and a small Plesk server.
require __DIR__ . '/plesk/bootstrap.php';

pm_Context::$plibDir = getenv('OML_TEST_PLIB_DIR');
pm_Context::$varDir = getenv('OML_TEST_VAR_DIR');
new pm_Client(1, 'admin', 'admin');
new pm_Client(10, 'res1', 'reseller');
new pm_Client(20, 'jdoe', 'client', 10);
new pm_Domain(100, 'jdoe.example', 20, 0, 'jdoe_ftp');
pm_Bootstrap::$mail = [1 => ['name' => 'alice', 'domainId' => 100], 2 => ['name' => 'bob', 'domainId' => 100]];
