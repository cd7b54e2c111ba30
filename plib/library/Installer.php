<?php
/**
 * Install, upgrade and uninstall of the limits service on a Plesk server (run by Plesk as root from
 * post-install.php and pre-uninstall.php).
 *
 * Order matters so that mail is never left without limits or limited twice: our service must answer before
 * Postfix is wired to it, and Plesk's own limits are switched off only after the wiring succeeded; uninstall
 * unwires first, then gives Plesk its own settings back.
 *
 * Locations can be moved with environment variables (tests and unusual layouts): OML_SYSTEMD_UNIT_DIR,
 * OML_POSTFIX_CONFIG_DIR, OML_KEPT_DATA_DIR, OML_NODE, OML_API_GROUP (default psaadm), OML_POLICY (where the
 * policy service listens, unix:/PATH or HOST:PORT, given to both the daemon and `postfix wire`; default the
 * daemon's socket outgoing-limits/policy in Postfix's queue directory), OML_API_WAIT_SECONDS.
 * The milter keeps its default socket (outgoing-limits/milter beside it): only Postfix's group can open either.
 */
class Modules_OutgoingMailLimits_Installer
{
    const SERVICE = 'outgoing-mail-limits';
    const API_GROUP = 'psaadm';
    const NODE_MIN_MAJOR = 20;
    const NATIVE_SETTINGS_FILE = 'plesk-native-settings.json';
    /** plib/scripts/resync.php, run by Plesk's scheduler. */
    const RESYNC_SCRIPT = 'resync.php';
    const REMOVE_DATA_SETTING = 'removeDataOnUninstall';
    /** Store files that make up the service's data; kept across uninstall unless the admin asked otherwise. */
    const DATA_FILES = ['outgoing-limits.sqlite', 'outgoing-limits.sqlite-wal', 'outgoing-limits.sqlite-shm', 'bridge.secret', self::NATIVE_SETTINGS_FILE];

    /** @var string */
    private $plibDir;
    /** @var string */
    private $varDir;
    /** @var callable(string):void */
    private $say;
    /** @var Modules_OutgoingMailLimits_PleskLimits Plesk's own values, through the XML API and `plesk bin` */
    private $limits;

    public function __construct($plibDir, $varDir, callable $say, Modules_OutgoingMailLimits_PleskLimits $limits)
    {
        $this->plibDir = rtrim($plibDir, '/');
        $this->varDir = rtrim($varDir, '/');
        $this->say = $say;
        $this->limits = $limits;
    }

    public static function forExtension()
    {
        return new self(pm_Context::getPlibDir(), pm_Context::getVarDir(), function ($line) {
            echo $line, "\n";
        }, Modules_OutgoingMailLimits_PleskLimits::forExtension());
    }

    public function bridgeDir()
    {
        return $this->plibDir . '/bridge';
    }

    public function unitFile()
    {
        return rtrim(self::env('OML_SYSTEMD_UNIT_DIR', '/etc/systemd/system'), '/') . '/' . self::SERVICE . '.service';
    }

    private function postfixConfigDir()
    {
        return self::env('OML_POSTFIX_CONFIG_DIR', '/etc/postfix');
    }

    private function keptDataDir()
    {
        return self::env('OML_KEPT_DATA_DIR', '/var/lib/' . self::SERVICE . '-kept');
    }

    /**
     * post-install: also run on upgrade; every step is safe to repeat. Plesk's values are read first (XML API):
     * on any mail server but Postfix on this host nothing at all is changed.
     */
    public function install()
    {
        $node = $this->findNode();
        $this->say("Node.js: {$node['path']} ({$node['version']}).");
        if (class_exists('Plesk\\SDK\\Server\\Components')) {
            // Plesk 18.0.52+: its component list (read below) made current first.
            (new \Plesk\SDK\Server\Components())->refresh();
        }
        try {
            $plesk = $this->limits->read();
        } catch (Exception $unreadable) {
            throw new RuntimeException("Plesk's outgoing mail settings could not be read through its XML API: {$unreadable->getMessage()}\n"
                . "Nothing was changed: Postfix, Plesk's own limits and the service are as they were. Install the extension again once Plesk's XML API answers.");
        }
        $mailServer = Modules_OutgoingMailLimits_PleskMailServer::detect($plesk['server']['components'], $this->postfixConfigDir());
        if ($mailServer !== Modules_OutgoingMailLimits_PleskMailServer::POSTFIX) {
            throw new RuntimeException(Modules_OutgoingMailLimits_PleskMailServer::refusal($mailServer, $this->postfixConfigDir()));
        }
        $this->say('Mail server: Postfix on this host.');
        $this->installDependencies($node['path']);
        $this->restoreKeptData();
        $this->writeUnit($node['path']);
        $this->startService();
        $this->waitForApi();

        $bridge = Modules_OutgoingMailLimits_BridgeClient::inDataDir(Modules_OutgoingMailLimits_Identity::integration(), $this->varDir);
        if ($this->recordNativeSettings($plesk)) {
            // Plesk's switch becomes ours once; its values follow in the resync (none seen yet: all are taken).
            // `enabled` is the old on/off: true enforces, or keeps "monitor only", which Plesk sees as on.
            $this->expect($bridge->json('PATCH', '/settings', ['enabled' => $plesk['server']['outgoing_antispam'] === 'true']), "taking over Plesk's switch");
        } elseif (!$this->limits->hasSeen()) {
            // Installed before, but no values seen (an earlier version, or data kept from an uninstall): the
            // bridge's values are the ones in force; only later changes in Plesk are taken over.
            $this->limits->rememberAsSeen($plesk);
            $this->say("Installed before: this extension's values stay; values changed in Plesk from now on are taken over.");
        }
        $sync = new Modules_OutgoingMailLimits_DirectorySync($bridge, $this->limits, $this->say);
        $counts = $sync->fullResync($plesk);
        $this->say('Directory synchronized: ' . json_encode($counts) . '.');
        $this->say("Plesk's own outgoing mail values are this extension's now: {$counts['pleskValues']} value(s) taken over (server defaults, subscriptions, domains, mailboxes; service plans' values come with their subscriptions).");

        $this->run(array_merge([$node['path'], $this->cliScript(), 'postfix', 'wire', '--config-dir', $this->postfixConfigDir()], $this->policyArguments()), 'wiring Postfix');
        if ($plesk['server']['outgoing_antispam'] === 'true') {
            // Only now: our limits are in force, so switching Plesk's off leaves no gap and no double limits.
            $this->plesk(['bin', 'mailserver', '--disable-outgoing-antispam']);
            $this->say("Plesk's own outgoing mail limits are switched off; these limits replace them.");
        }
        Modules_OutgoingMailLimits_PleskLimits::report($bridge, false, $mailServer, $this->say);
        $this->scheduleResync();
    }

    /**
     * The resync every hour (Plesk's scheduled tasks of the extension, run as root): values changed in Plesk
     * without an event (Mail Server Settings) are taken over, and Plesk's own limiting is kept off.
     */
    private function scheduleResync()
    {
        $scheduler = pm_Scheduler::getInstance();
        foreach ($scheduler->listTasks() as $task) {
            if ($task->getCmd() === self::RESYNC_SCRIPT) {
                return;
            }
        }
        $task = new pm_Scheduler_Task();
        $task->setSchedule(pm_Scheduler::$EVERY_HOUR);
        $task->setCmd(self::RESYNC_SCRIPT);
        $scheduler->putTask($task);
        $this->say('Resync scheduled every hour (' . self::RESYNC_SCRIPT . ').');
    }

    private function unscheduleResync()
    {
        $scheduler = pm_Scheduler::getInstance();
        foreach ($scheduler->listTasks() as $task) {
            if ($task->getCmd() === self::RESYNC_SCRIPT) {
                $scheduler->removeTask($task);
            }
        }
    }

    /** pre-uninstall: unwire, give Plesk its settings back, stop and remove the service, keep the data. */
    public function uninstall($removeData)
    {
        $node = $this->findNode(false);
        if ($node !== null && is_file($this->cliScript())) {
            $this->run([$node['path'], $this->cliScript(), 'postfix', 'unwire', '--config-dir', $this->postfixConfigDir()], 'unwiring Postfix');
        } else {
            $this->say('Node.js or the service is missing: Postfix could not be unwired here. Run "outgoing-limits postfix unwire", or by hand remove check_policy_service unix:outgoing-limits/policy from smtpd_end_of_data_restrictions and unix:outgoing-limits/milter from non_smtpd_milters in main.cf.');
        }
        $this->unscheduleResync();
        $this->restoreNativeSettings();
        @unlink($this->varDir . '/' . Modules_OutgoingMailLimits_PleskLimits::SEEN_FILE);
        $this->stopService();
        if ($removeData) {
            foreach (self::DATA_FILES as $file) {
                @unlink($this->varDir . '/' . $file);
            }
            $this->say('Data removed as asked.');
        } else {
            $this->keepData();
        }
    }

    /** Node.js ≥ 20: OML_NODE, then Plesk's Node.js (/opt/plesk/node/<major>), then the system's. */
    public function findNode($required = true)
    {
        $candidates = [];
        if (self::env('OML_NODE', '') !== '') {
            $candidates[] = self::env('OML_NODE', '');
        }
        $plesk = glob('/opt/plesk/node/*/bin/node') ?: [];
        rsort($plesk, SORT_NATURAL);
        $candidates = array_merge($candidates, $plesk);
        foreach (explode(':', (string) getenv('PATH')) as $dir) {
            if ($dir !== '' && is_executable($dir . '/node')) {
                $candidates[] = $dir . '/node';
            }
        }
        $found = [];
        foreach ($candidates as $candidate) {
            if (!is_executable($candidate)) {
                continue;
            }
            $result = self::exec([$candidate, '-p', 'process.versions.node']);
            $version = trim($result['stdout']);
            if ($result['code'] === 0 && preg_match('/^(\d+)\./', $version, $match)) {
                if ((int) $match[1] >= self::NODE_MIN_MAJOR) {
                    return ['path' => $candidate, 'version' => $version];
                }
                $found[] = "{$candidate} is {$version}";
            }
        }
        if (!$required) {
            return null;
        }
        throw new RuntimeException(
            'Outgoing Mail Limits needs Node.js ' . self::NODE_MIN_MAJOR . ' or newer' . ($found ? ' (found: ' . implode('; ', $found) . ')' : ' (none found)') . ".\n"
            . "Install it, then install this extension again:\n"
            . "  - in Plesk: Extensions → Node.js (installs /opt/plesk/node/<version>), or\n"
            . '  - from your distribution or nodesource: a nodejs package of version ' . self::NODE_MIN_MAJOR . ' or newer.'
        );
    }

    private function policyArguments()
    {
        $policy = self::env('OML_POLICY', '');
        return $policy === '' ? [] : ['--policy', $policy];
    }

    private function cliScript()
    {
        return $this->bridgeDir() . '/dist/backend-bridge/src/cli/main.js';
    }

    /**
     * npm ci of the service's runtime packages, unless each of them is already installed in exactly the pinned
     * version where Node will find it (node_modules of the bridge or of a directory above it).
     */
    private function installDependencies($node)
    {
        $dir = $this->bridgeDir();
        $missing = $this->missingDependencies($dir);
        if (!$missing) {
            $this->say('Runtime packages are installed.');
            return;
        }
        $npm = dirname($node) . '/npm';
        if (!is_executable($npm)) {
            $npm = 'npm';
        }
        $this->say('Installing runtime packages (npm ci; missing: ' . implode(', ', $missing) . ')...');
        $this->run([$npm, 'ci', '--omit=dev', '--no-audit', '--no-fund', '--prefix', $dir], 'installing runtime packages');
    }

    /** Runtime dependencies that Node would not find in their pinned version from $dir. */
    public function missingDependencies($dir)
    {
        $package = json_decode((string) file_get_contents($dir . '/package.json'), true);
        $missing = [];
        foreach ((array) $package['dependencies'] as $name => $version) {
            $found = null;
            for ($at = $dir; $found === null; $at = dirname($at)) {
                $manifest = $at . '/node_modules/' . $name . '/package.json';
                if (is_file($manifest)) {
                    $found = (string) json_decode((string) file_get_contents($manifest), true)['version'];
                }
                if ($at === dirname($at)) {
                    break;
                }
            }
            if ($found !== $version) {
                $missing[] = "{$name}@{$version}";
            }
        }
        return $missing;
    }

    private function writeUnit($node)
    {
        $unit = "[Unit]\n"
            . "Description=Outgoing Mail Limits (policy service and API for Postfix)\n"
            . "Before=postfix.service\n"
            . "After=network.target\n\n"
            . "[Service]\n"
            // As bin/outgoing-limits runs the daemon: few malloc arenas keep resident memory low.
            . "Environment=MALLOC_ARENA_MAX=2\n"
            // The panel (user psaadm) reaches the API socket and the secret through the group: see --api-group.
            . 'ExecStart=' . implode(' ', array_merge([$node, '--max-semi-space-size=1', '--heap-growing-percent=30', $this->cliScript(), 'daemon', '--data-dir', $this->varDir, '--postfix-config-dir', $this->postfixConfigDir(), '--api-group', self::env('OML_API_GROUP', self::API_GROUP)], $this->policyArguments())) . "\n"
            . "Restart=always\n"
            . "RestartSec=2\n"
            // Exit 3 is a damaged store: restarting would refuse again; the admin restores a backup (see README).
            . "RestartPreventExitStatus=3\n\n"
            . "[Install]\n"
            . "WantedBy=multi-user.target\n";
        $file = $this->unitFile();
        if (!is_dir(dirname($file)) && !mkdir(dirname($file), 0755, true)) {
            throw new RuntimeException('Cannot create ' . dirname($file));
        }
        if (file_put_contents($file, $unit) === false) {
            throw new RuntimeException("Cannot write {$file}");
        }
        $this->say("Service unit written: {$file}.");
    }

    private static function systemdRuns()
    {
        return is_dir('/run/systemd/system') && self::exec(['systemctl', '--version'])['code'] === 0;
    }

    private function startService()
    {
        if (!self::systemdRuns()) {
            $this->say('systemd is not running on this machine: the service was not started. Start it yourself with the ExecStart line of ' . $this->unitFile() . '.');
            return;
        }
        $this->run(['systemctl', 'daemon-reload'], 'reloading systemd');
        $this->run(['systemctl', 'enable', self::SERVICE . '.service'], 'enabling the service');
        // restart, not start: an upgrade must run the new code (the daemon migrates its store when it opens it).
        $this->run(['systemctl', 'restart', self::SERVICE . '.service'], 'starting the service');
        $this->say('Service ' . self::SERVICE . ' started.');
    }

    private function stopService()
    {
        $file = $this->unitFile();
        if (self::systemdRuns()) {
            self::exec(['systemctl', 'disable', '--now', self::SERVICE . '.service']);
        } else {
            $this->say('systemd is not running on this machine: stop the service yourself if it runs.');
        }
        if (is_file($file)) {
            unlink($file);
            $this->say("Service unit removed: {$file}.");
        }
        if (self::systemdRuns()) {
            self::exec(['systemctl', 'daemon-reload']);
        }
    }

    private function waitForApi()
    {
        $bridge = Modules_OutgoingMailLimits_BridgeClient::inDataDir(Modules_OutgoingMailLimits_Identity::integration(), $this->varDir);
        $deadline = time() + (int) self::env('OML_API_WAIT_SECONDS', '60');
        $last = '';
        do {
            try {
                if ($bridge->json('GET', '/settings')['status'] === 200) {
                    return;
                }
            } catch (Modules_OutgoingMailLimits_BridgeUnavailableException $down) {
                $last = $down->getMessage();
            }
            usleep(250000);
        } while (time() < $deadline);
        throw new RuntimeException(
            "The outgoing mail limits service does not answer ({$last}). Postfix was not changed and Plesk's own limits are as they were.\n"
            . 'See "journalctl -u ' . self::SERVICE . '" and run "plesk bin extension --exec outgoing-mail-limits post-install.php" again.'
        );
    }

    /**
     * Records Plesk's values as they are before the first install (record file, kept with the data), so that
     * an upgrade, after which Plesk's switch is already off, does not overwrite what uninstall gives back.
     * Returns whether this is the first install (nothing recorded yet).
     */
    public function recordNativeSettings(array $plesk)
    {
        $file = $this->varDir . '/' . self::NATIVE_SETTINGS_FILE;
        if (is_array($this->nativeRecord())) {
            return false;
        }
        $server = $plesk['server'];
        unset($server['components']);
        $record = ['recordedAt' => gmdate('c'), 'server' => $server, 'plans' => (object) $plesk['plans']];
        foreach (['subscriptions', 'domains', 'mailboxes'] as $collection) {
            $record[$collection] = (object) array_filter(array_map(function ($object) {
                return $object['own'];
            }, $plesk[$collection]), function ($raw) {
                return $raw !== null;
            });
        }
        if (file_put_contents($file, json_encode($record, JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES) . "\n") === false) {
            throw new RuntimeException("Cannot write {$file}.");
        }
        chmod($file, 0600);
        return true;
    }

    /** The record of the first install, or null. */
    private function nativeRecord()
    {
        $file = $this->varDir . '/' . self::NATIVE_SETTINGS_FILE;
        $record = is_file($file) ? json_decode((string) file_get_contents($file), true) : null;
        return is_array($record) && isset($record['server']['outgoing_antispam']) ? $record : null;
    }

    /**
     * Uninstall: Plesk gets this extension's current values (PleskLimits::giveBack); its own limiting is on again
     * only if it was on before the first install. Never stops the uninstall: a failure is said with what to do.
     */
    private function restoreNativeSettings()
    {
        $record = $this->nativeRecord();
        if ($record === null) {
            $this->say("No record of Plesk's own outgoing mail settings: they are left as they are.");
            return;
        }
        $record += ['subscriptions' => [], 'domains' => [], 'mailboxes' => []];
        $bridge = Modules_OutgoingMailLimits_BridgeClient::inDataDir(Modules_OutgoingMailLimits_Identity::integration(), $this->varDir);
        try {
            $bridge->json('GET', '/settings');
        } catch (Modules_OutgoingMailLimits_BridgeUnavailableException $down) {
            $bridge = null;
        }
        try {
            $this->limits->giveBack($bridge, $record, $this->say);
        } catch (Exception $failed) {
            $this->say("Plesk's own outgoing mail values could not all be given back ({$failed->getMessage()}). Check Tools & Settings → Mail Server Settings and the subscriptions' outgoing mail limits; " . ($record['server']['outgoing_antispam'] === 'true' ? 'switch Plesk\'s limitation of outgoing messages on again there.' : 'Plesk\'s own limitation was off before install.'));
        }
    }

    /** Moves the store out of the extension's var directory (Plesk deletes it) to where a reinstall finds it. */
    private function keepData()
    {
        $kept = $this->keptDataDir();
        if (!is_dir($kept) && !mkdir($kept, 0700, true)) {
            throw new RuntimeException("Cannot create {$kept} to keep the data.");
        }
        $moved = 0;
        foreach (self::DATA_FILES as $file) {
            if (is_file($this->varDir . '/' . $file)) {
                if (!copy($this->varDir . '/' . $file, $kept . '/' . $file)) {
                    throw new RuntimeException("Cannot copy {$file} to {$kept}.");
                }
                $moved++;
            }
        }
        if ($moved) {
            $this->say("Data kept in {$kept}; installing the extension again picks it up. Delete that directory to discard it.");
        }
    }

    private function restoreKeptData()
    {
        $kept = $this->keptDataDir();
        if (!is_dir($kept) || is_file($this->varDir . '/outgoing-limits.sqlite')) {
            return;
        }
        if (!is_dir($this->varDir)) {
            mkdir($this->varDir, 0750, true);
        }
        foreach (self::DATA_FILES as $file) {
            if (is_file($kept . '/' . $file)) {
                copy($kept . '/' . $file, $this->varDir . '/' . $file);
                chmod($this->varDir . '/' . $file, 0600);
            }
        }
        $this->say("Data of the earlier installation taken back from {$kept}.");
    }

    private function plesk(array $args)
    {
        return $this->run(array_merge(['plesk'], $args), 'plesk ' . $args[0] . ' ' . ($args[1] ?? ''));
    }

    private function run(array $command, $what)
    {
        $result = self::exec($command);
        if ($result['code'] !== 0) {
            throw new RuntimeException("Failed {$what} (exit {$result['code']}): " . trim($result['stderr'] . "\n" . $result['stdout']));
        }
        if (trim($result['stderr']) !== '') {
            $this->say(trim($result['stderr']));
        }
        return $result['stdout'];
    }

    /** Runs a program without a shell; returns its exit code and output. */
    public static function exec(array $command)
    {
        $process = @proc_open($command, [1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes);
        if (!is_resource($process)) {
            return ['code' => 127, 'stdout' => '', 'stderr' => "cannot run {$command[0]}"];
        }
        $stdout = stream_get_contents($pipes[1]);
        $stderr = stream_get_contents($pipes[2]);
        fclose($pipes[1]);
        fclose($pipes[2]);
        return ['code' => proc_close($process), 'stdout' => (string) $stdout, 'stderr' => (string) $stderr];
    }

    private function expect(array $answer, $what)
    {
        if ($answer['status'] < 200 || $answer['status'] > 299) {
            throw new RuntimeException("Failed {$what}: " . self::errorOf($answer));
        }
        return $answer['data'];
    }

    private static function errorOf(array $answer)
    {
        return is_array($answer['data']) && isset($answer['data']['error']) ? "{$answer['status']} {$answer['data']['error']}" : (string) $answer['status'];
    }

    private function say($line)
    {
        call_user_func($this->say, $line);
    }

    private static function env($name, $default)
    {
        $value = getenv($name);
        return $value === false || $value === '' ? $default : $value;
    }
}
