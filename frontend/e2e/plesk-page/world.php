<?php
/**
 * The Plesk server of the simulated Plesk page: the pm_ stand-ins of plib-tests with an admin and two customers,
 * their subscriptions and mail accounts. The bridge daemon's data directory comes from OML_DATA_DIR.
 * Loaded by router.php (the panel) and, with `php -d auto_prepend_file`, by plib/scripts/resync.php.
 */
require dirname(__DIR__, 3) . '/plib-tests/plesk/bootstrap.php';

pm_Context::$varDir = (string) getenv('OML_DATA_DIR');

new pm_Client(1, 'admin', 'admin');
new pm_Client(20, 'jdoe', 'client', 1);
new pm_Client(21, 'mary', 'client', 1);
new pm_Domain(100, 'example.com', 20, 0, 'jdoe_ftp');
new pm_Domain(101, 'example.net', 20, 100);
new pm_Domain(200, 'other.org', 21, 0, 'mary_ftp');
pm_Bootstrap::$mail = [
    1 => ['name' => 'alice', 'domainId' => 100],
    2 => ['name' => 'bob', 'domainId' => 100],
    3 => ['name' => 'sales', 'domainId' => 101],
    4 => ['name' => 'mallory', 'domainId' => 200],
];
