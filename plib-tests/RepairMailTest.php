<?php
use PHPUnit\Framework\TestCase;

/** A bridge client that answers from a script and records what it was asked. */
final class RecordingBridgeClient extends Modules_OutgoingMailLimits_BridgeClient
{
    /** @var array<int, array{0: string, 1: string}> */
    public $requests = [];
    /** @var callable */
    private $answer;

    public function __construct(callable $answer)
    {
        parent::__construct('/nonexistent/api.sock', '/nonexistent/bridge.secret', Modules_OutgoingMailLimits_Identity::integration());
        $this->answer = $answer;
    }

    public function json($method, $pathAndQuery, $data = null)
    {
        $this->requests[] = [$method, $pathAndQuery];
        return call_user_func($this->answer);
    }
}

/**
 * Plesk's mail repair hook (Plesk\SDK\Hook\Repair\Mail, stand-in in plesk/repair.php): it has the daemon check its
 * Postfix wiring at once, never fails Plesk's repair, and on a Plesk without the SDK class the file defines nothing.
 */
final class RepairMailTest extends TestCase
{
    private static $node = null;
    private static $configDir;
    private static $dataDir;
    private static $log;

    protected function setUp(): void
    {
        pm_Log::$lines = [];
    }

    public static function tearDownAfterClass(): void
    {
        if (self::$node !== null) {
            proc_terminate(self::$node);
            proc_close(self::$node);
        }
    }

    public function testEveryRepairAsksTheDaemonToCheckTheWiring(): void
    {
        $bridge = new RecordingBridgeClient(function () {
            return ['status' => 200, 'data' => ['outcome' => 'intact']];
        });
        $hook = new Modules_OutgoingMailLimits_RepairMail($bridge);
        $this->assertInstanceOf(\Plesk\SDK\Hook\Repair\Mail::class, $hook);
        $context = new \Plesk\SDK\Repair\Context();
        $hook->repairAll($context);
        $hook->repairDomains(['example.com'], $context);
        $hook->repairMailnames(['alice@example.com'], $context);
        $this->assertSame(array_fill(0, 3, ['POST', '/postfix/wiring/check']), $bridge->requests);
        $this->assertSame([], pm_Log::$lines);
    }

    public function testAProblemIsLoggedAndNeverFailsPlesksRepair(): void
    {
        $answers = [
            function () {
                throw new Modules_OutgoingMailLimits_BridgeUnavailableException('The outgoing mail limits service is not running (no socket).');
            },
            function () {
                return ['status' => 404, 'data' => ['error' => 'no such endpoint: POST /api/v1/postfix/wiring/check']];
            },
            function () {
                return ['status' => 200, 'data' => ['outcome' => 'failed', 'error' => 'cannot write /etc/postfix/main.cf: EPERM']];
            },
        ];
        foreach ($answers as $answer) {
            (new Modules_OutgoingMailLimits_RepairMail(new RecordingBridgeClient($answer)))->repairAll(new \Plesk\SDK\Repair\Context());
        }
        $this->assertCount(3, pm_Log::$lines);
        $this->assertStringContainsString('is not running', pm_Log::$lines[0]);
        $this->assertStringContainsString('does not guard the Postfix wiring', pm_Log::$lines[1]);
        $this->assertStringContainsString('could not be repaired after the mail repair: cannot write /etc/postfix/main.cf: EPERM', pm_Log::$lines[2]);
    }

    public function testOnAPleskWithoutTheSdkClassTheFileLoadsAndDefinesNothing(): void
    {
        $hookFile = dirname(__DIR__) . '/plib/hooks/RepairMail.php';
        $script = 'require ' . var_export($hookFile, true) . '; echo class_exists("Modules_OutgoingMailLimits_RepairMail", false) ? "defined" : "absent";';
        exec(escapeshellarg(PHP_BINARY) . ' -d display_errors=stderr -r ' . escapeshellarg($script) . ' 2>&1', $output, $status);
        $this->assertSame(0, $status, implode("\n", $output));
        $this->assertSame(['absent'], $output);
    }

    /** Through the real daemon: PHP's signed request reaches the guard, which puts the removed entries back. */
    public function testTheDaemonPutsBackWhatTheRepairRemoved(): void
    {
        self::startGuardingDaemon();
        $mainCf = self::$configDir . '/main.cf';
        self::shell(['postconf', '-c', self::$configDir, '-e', 'smtpd_end_of_data_restrictions =', 'non_smtpd_milters =']);
        // Written a while ago: the daemon takes it as settled and repairs at once.
        touch($mainCf, time() - 60);

        $bridge = Modules_OutgoingMailLimits_BridgeClient::inDataDir(Modules_OutgoingMailLimits_Identity::integration(), self::$dataDir);
        (new Modules_OutgoingMailLimits_RepairMail($bridge))->repairAll(new \Plesk\SDK\Repair\Context());
        $this->assertSame([], pm_Log::$lines);
        // The directory watch may have started the same repair a moment before the hook: wait for it to be done.
        for ($deadline = microtime(true) + 10; ; usleep(50000)) {
            $answer = $bridge->json('POST', '/postfix/wiring/check', new stdClass());
            $this->assertSame(200, $answer['status'], json_encode($answer['data']));
            if ($answer['data'] === ['outcome' => 'intact'] || microtime(true) > $deadline) {
                break;
            }
        }
        $this->assertSame(['outcome' => 'intact'], $answer['data']);
        $this->assertSame('check_policy_service unix:' . self::$dataDir . '-sockets/policy', self::parameter('smtpd_end_of_data_restrictions'));
        $this->assertSame('unix:' . self::$dataDir . '-sockets/milter', self::parameter('non_smtpd_milters'));
    }

    /** Read from the file itself: postconf pauses on a main.cf changed in the last second. */
    private static function parameter($name)
    {
        $found = null;
        foreach (file(self::$configDir . '/main.cf') as $line) {
            if (preg_match('/^' . preg_quote($name, '/') . '\s*=\s*(.*)$/', rtrim($line, "\n"), $match)) {
                $found = trim($match[1]);
            }
        }
        return $found;
    }

    private static function shell(array $command)
    {
        exec(implode(' ', array_map('escapeshellarg', $command)) . ' 2>&1', $output, $status);
        if ($status !== 0) {
            throw new RuntimeException(implode(' ', $command) . " failed:\n" . implode("\n", $output));
        }
        return implode("\n", $output);
    }

    /**
     * A daemon started with --postfix-config-dir (which switches the guard on) for a Postfix configuration of its
     * own, wired with `postfix wire`; its queue directory is private too, so no running Postfix is ever reloaded.
     */
    private static function startGuardingDaemon()
    {
        $base = sys_get_temp_dir() . '/oml-php-repair-' . bin2hex(random_bytes(4));
        self::$configDir = "{$base}/etc";
        self::$dataDir = "{$base}/data";
        mkdir(self::$configDir, 0755, true);
        mkdir(self::$dataDir, 0750);
        mkdir("{$base}/queue", 0755);
        file_put_contents(self::$configDir . '/main.cf', "queue_directory = {$base}/queue\nmyhostname = mx.example.com\n");
        file_put_contents(self::$configDir . '/master.cf', "smtp inet n - n - - smtpd\ncleanup unix n - n - 0 cleanup\n");
        $main = dirname(__DIR__) . '/dist/backend-bridge/src/cli/main.js';
        $sockets = ['--policy', 'unix:' . self::$dataDir . '-sockets/policy', '--milter', 'unix:' . self::$dataDir . '-sockets/milter'];
        self::shell(array_merge(['node', $main, 'postfix', 'wire', '--config-dir', self::$configDir, '--no-reload'], $sockets));
        self::$log = "{$base}/daemon.log";
        $command = array_merge(['node', $main, 'daemon', '--data-dir', self::$dataDir, '--postfix-config-dir', self::$configDir, '--api-group', BridgeDaemon::group()], $sockets);
        self::$node = proc_open($command, [0 => ['file', '/dev/null', 'r'], 1 => ['file', self::$log, 'w'], 2 => ['file', self::$log, 'a']], $pipes);
        for ($i = 0; $i < 300; $i++) {
            if (strpos((string) @file_get_contents(self::$log), 'policy service listening') !== false) {
                return;
            }
            if (!proc_get_status(self::$node)['running']) {
                break;
            }
            usleep(100000);
        }
        throw new RuntimeException("The daemon did not start:\n" . @file_get_contents(self::$log));
    }
}
