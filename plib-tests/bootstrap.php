<?php
// PHPUnit bootstrap: the Plesk stand-ins, a panel session, and one real bridge daemon (the built command) in a
// throwaway data directory, reached over its unix socket exactly as in Plesk.
require __DIR__ . '/plesk/bootstrap.php';
require __DIR__ . '/BridgeDaemon.php';
require __DIR__ . '/PleskWorld.php';

ini_set('session.use_cookies', '0');
ini_set('session.save_path', sys_get_temp_dir());
session_start();

BridgeDaemon::start();
register_shutdown_function(['BridgeDaemon', 'stop']);
