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
    const REMOVE_DATA_SETTING = 'removeDataOnUninstall';
    /** Store files that make up the service's data; kept across uninstall unless the admin asked otherwise. */
    const DATA_FILES = ['outgoing-limits.sqlite', 'outgoing-limits.sqlite-wal', 'outgoing-limits.sqlite-shm', 'bridge.secret', self::NATIVE_SETTINGS_FILE];

    /** Plesk's server-wide outgoing mail settings (psa.misc), read before install and given back at uninstall. */
    const NATIVE_SERVER_SQL = "SELECT param, val FROM misc WHERE param IN ('outgoing_antispam', 'outgoing_messages_mbox_limit', 'outgoing_messages_domain_limit', 'outgoing_messages_subscription_limit')";
    /** Per-mailbox values (psa.mn_param). */
    const NATIVE_MAILBOX_SQL = "SELECT CONCAT(m.mail_name, '@', d.name), p.val FROM mn_param p INNER JOIN mail m ON m.id = p.mn_id INNER JOIN domains d ON d.id = m.dom_id WHERE p.param = 'outgoing_messages_mbox_limit'";

    /** @var string */
    private $plibDir;
    /** @var string */
    private $varDir;
    /** @var callable(string):void */
    private $say;

    public function __construct($plibDir, $varDir, callable $say)
    {
        $this->plibDir = rtrim($plibDir, '/');
        $this->varDir = rtrim($varDir, '/');
        $this->say = $say;
    }

    public static function forExtension()
    {
        return new self(pm_Context::getPlibDir(), pm_Context::getVarDir(), function ($line) {
            echo $line, "\n";
        });
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

    /** post-install: also run on upgrade; every step is safe to repeat. */
    public function install()
    {
        $node = $this->findNode();
        $this->say("Node.js: {$node['path']} ({$node['version']}).");
        $this->installDependencies($node['path']);
        $this->restoreKeptData();
        $this->writeUnit($node['path']);
        $this->startService();
        $this->waitForApi();

        $bridge = Modules_OutgoingMailLimits_BridgeClient::inDataDir(Modules_OutgoingMailLimits_Identity::integration(), $this->varDir);
        $counts = (new Modules_OutgoingMailLimits_DirectorySync($bridge))->fullResync();
        $this->say('Directory synchronized: ' . json_encode($counts) . '.');

        $native = $this->nativeSettings();
        $this->importNativeSettings($bridge, $native);

        $this->run(array_merge([$node['path'], $this->cliScript(), 'postfix', 'wire', '--config-dir', $this->postfixConfigDir()], $this->policyArguments()), 'wiring Postfix');
        if ($native['server']['outgoing_antispam'] === 'true') {
            // Only now: our limits are in force, so switching Plesk's off leaves no gap and no double limits.
            $this->plesk(['bin', 'mailserver', '--disable-outgoing-antispam']);
            $this->say("Plesk's own outgoing mail limits are switched off; these limits replace them.");
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
        $this->restoreNativeSettings();
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
     * Plesk's own settings as they are now; recorded once, at the first install, so that an upgrade (after which
     * Plesk's switch is already off) does not overwrite what uninstall must give back.
     */
    public function nativeSettings()
    {
        $file = $this->varDir . '/' . self::NATIVE_SETTINGS_FILE;
        if (is_file($file)) {
            $kept = json_decode((string) file_get_contents($file), true);
            if (is_array($kept) && isset($kept['server'], $kept['mailboxes'])) {
                $kept['firstInstall'] = false;
                return $kept;
            }
        }
        $server = ['outgoing_antispam' => 'false', 'outgoing_messages_mbox_limit' => null, 'outgoing_messages_domain_limit' => null, 'outgoing_messages_subscription_limit' => null];
        foreach ($this->pleskDb(self::NATIVE_SERVER_SQL) as $row) {
            if (array_key_exists($row[0], $server)) {
                $server[$row[0]] = $row[1];
            }
        }
        $mailboxes = [];
        foreach ($this->pleskDb(self::NATIVE_MAILBOX_SQL) as $row) {
            $mailboxes[strtolower($row[0])] = $row[1];
        }
        $native = ['recordedAt' => gmdate('c'), 'server' => $server, 'mailboxes' => (object) $mailboxes];
        file_put_contents($file, json_encode($native, JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES) . "\n");
        chmod($file, 0600);
        $native['mailboxes'] = $mailboxes;
        $native['firstInstall'] = true;
        return $native;
    }

    /** Plesk's switch and defaults become ours at the first install; its per-mailbox values become overrides. */
    private function importNativeSettings(Modules_OutgoingMailLimits_BridgeClient $bridge, array $native)
    {
        if (!$native['firstInstall']) {
            return;
        }
        $server = $native['server'];
        $defaults = [];
        foreach (['mailbox' => 'outgoing_messages_mbox_limit', 'domain' => 'outgoing_messages_domain_limit', 'subscription' => 'outgoing_messages_subscription_limit'] as $level => $param) {
            $value = self::nativeLimit($server[$param]);
            if ($value !== null) {
                $defaults[$level] = $value;
            }
        }
        $patch = ['enabled' => $server['outgoing_antispam'] === 'true'];
        if ($defaults) {
            $patch['defaults'] = $defaults;
        }
        $this->expect($bridge->json('PATCH', '/settings', $patch), 'importing Plesk\'s outgoing mail settings');

        $byValue = [];
        foreach ($native['mailboxes'] as $address => $raw) {
            $value = self::nativeLimit($raw);
            if ($value !== null) {
                $byValue[json_encode($value)][] = $address;
            }
        }
        $imported = 0;
        foreach ($byValue as $valueJson => $addresses) {
            foreach (array_chunk($addresses, 1000) as $chunk) {
                $answer = $bridge->json('POST', '/limits/bulk', ['level' => 'mailbox', 'names' => $chunk, 'limit' => json_decode($valueJson, true)]);
                if ($answer['status'] === 200) {
                    $imported += count($chunk);
                } else {
                    // One unknown address must not lose the others: set them one by one.
                    foreach ($chunk as $address) {
                        $single = $bridge->json('PUT', '/mailboxes/' . rawurlencode($address) . '/limit', ['limit' => json_decode($valueJson, true)]);
                        if ($single['status'] === 200) {
                            $imported++;
                        } else {
                            $this->say("Plesk's limit of {$address} was not imported: " . self::errorOf($single));
                        }
                    }
                }
            }
        }
        $this->say("Imported Plesk's outgoing mail settings" . ($imported ? " and {$imported} mailbox limits" : '') . '.');
    }

    /** Plesk's value → ours: -1 is unlimited, a whole number stays, nothing set means "use the default". */
    private static function nativeLimit($raw)
    {
        if ($raw === null || $raw === '' || strtoupper((string) $raw) === 'NULL') {
            return null;
        }
        if ((string) $raw === '-1') {
            return 'unlimited';
        }
        return preg_match('/^\d+$/', (string) $raw) ? (int) $raw : null;
    }

    private function restoreNativeSettings()
    {
        $file = $this->varDir . '/' . self::NATIVE_SETTINGS_FILE;
        $native = is_file($file) ? json_decode((string) file_get_contents($file), true) : null;
        if (!is_array($native) || !isset($native['server'])) {
            $this->say("No record of Plesk's own outgoing mail settings: they are left as they are.");
            return;
        }
        $server = $native['server'];
        foreach (['mbox' => 'outgoing_messages_mbox_limit', 'domain' => 'outgoing_messages_domain_limit', 'subscription' => 'outgoing_messages_subscription_limit'] as $option => $param) {
            if ($server[$param] !== null && $server[$param] !== '') {
                $this->plesk(['bin', 'mailserver', "--set-outgoing-messages-{$option}-limit", (string) $server[$param]]);
            }
        }
        $this->plesk(['bin', 'mailserver', $server['outgoing_antispam'] === 'true' ? '--enable-outgoing-antispam' : '--disable-outgoing-antispam']);
        $this->say("Plesk's own outgoing mail settings are as they were before install.");
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

    /** Rows of `plesk db` (tab-separated, no header). */
    private function pleskDb($sql)
    {
        $out = $this->plesk(['db', '-Ne', $sql]);
        $rows = [];
        foreach (preg_split('/\r?\n/', trim($out)) as $line) {
            if ($line !== '') {
                $rows[] = explode("\t", $line);
            }
        }
        return $rows;
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
