<?php
// PHPUnit bootstrap: the Plesk stand-ins, a panel session, and one real bridge daemon (the built command) in a
// throwaway data directory, reached over its unix socket exactly as in Plesk.
require __DIR__ . '/plesk/bootstrap.php';
require __DIR__ . '/BridgeDaemon.php';
require __DIR__ . '/PleskWorld.php';

ini_set('session.use_cookies', '0');
ini_set('session.save_path', sys_get_temp_dir());
// No cache headers: tests that play a panel without a PHP session start it again after PHPUnit's output.
ini_set('session.cache_limiter', '');
session_start();

BridgeDaemon::start();
register_shutdown_function(['BridgeDaemon', 'stop']);
