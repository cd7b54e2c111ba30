<?php
/** The bridge daemon for the PHP tests: `outgoing-limits daemon` from dist/, with --api-group as on Plesk. */
final class BridgeDaemon
{
    public static $dataDir;
    private static $process = null;
    private static $log;

    public static function start()
    {
        $main = dirname(__DIR__) . '/dist/backend-bridge/src/cli/main.js';
        if (!is_file($main)) {
            throw new RuntimeException("{$main} is missing: run npm run build first.");
        }
        self::$dataDir = sys_get_temp_dir() . '/oml-php-' . bin2hex(random_bytes(4));
        mkdir(self::$dataDir, 0750);
        self::$log = self::$dataDir . '.log';
        // The policy service and the milter on sockets of their own, not the machine's Postfix queue directory.
        $sockets = self::$dataDir . '-sockets';
        $command = ['node', $main, 'daemon', '--data-dir', self::$dataDir, '--policy', "unix:{$sockets}/policy", '--milter', "unix:{$sockets}/milter", '--api-group', self::group()];
        self::$process = proc_open($command, [0 => ['file', '/dev/null', 'r'], 1 => ['file', self::$log, 'w'], 2 => ['file', self::$log, 'a']], $pipes);
        for ($i = 0; $i < 300; $i++) {
            if (strpos((string) @file_get_contents(self::$log), 'policy service listening') !== false) {
                pm_Context::$varDir = self::$dataDir;
                return;
            }
            if (!proc_get_status(self::$process)['running']) {
                break;
            }
            usleep(100000);
        }
        throw new RuntimeException("The bridge daemon did not start:\n" . @file_get_contents(self::$log));
    }

    public static function stop()
    {
        if (self::$process !== null) {
            proc_terminate(self::$process);
            proc_close(self::$process);
            self::$process = null;
        }
    }

    /** A group other than our own when we may choose (root), so the test shows the sharing works by group. */
    public static function group()
    {
        return posix_getuid() === 0 ? 'nogroup' : (string) posix_getgid();
    }

    public static function log()
    {
        return (string) @file_get_contents(self::$log);
    }
}
