<?php
use PHPUnit\Framework\TestCase;

final class BridgeClientTest extends TestCase
{
    protected function setUp(): void
    {
        PleskWorld::reset();
        PleskWorld::resync();
    }

    /** The headers the bridge's own signRequest (signature.ts) makes for the same request and identity. */
    private function referenceHeaders(Modules_OutgoingMailLimits_Identity $identity, $body)
    {
        $script = 'import("' . dirname(__DIR__) . '/dist/backend-bridge/src/api/auth/signature.js").then((m) => {'
            . 'const secret = require("node:fs").readFileSync(process.argv[1] + "/bridge.secret", "utf8").trim();'
            . 'const who = JSON.parse(process.argv[3]);'
            . 'console.log(JSON.stringify(m.signRequest(Buffer.from(secret, "hex"), { method: "PUT", path: "/api/v1/mailboxes/alice%40jdoe.example/limit",'
            . ' body: Buffer.from(process.argv[2]), ...who, timestampSeconds: 1893456000, nonce: "abcdefghijklmnopqrstuv" })));'
            . '});';
        $who = ['login' => $identity->login, 'userId' => $identity->userId, 'role' => $identity->role];
        if ($identity->permittedSubscriptions !== null) {
            $who['permittedSubscriptions'] = $identity->permittedSubscriptions;
        }
        $node = Modules_OutgoingMailLimits_Installer::exec(['node', '-e', $script, BridgeDaemon::$dataDir, $body, json_encode($who)]);
        $this->assertSame(0, $node['code'], $node['stderr']);
        return json_decode($node['stdout'], true);
    }

    public function testSignsExactlyLikeTheBridgesOwnReference(): void
    {
        $body = '{"limit":25}';
        foreach ([
            new Modules_OutgoingMailLimits_Identity('jdoe', '20', 'customer', ['jdoe.example', 'xn--bcher-kva.example']),
            new Modules_OutgoingMailLimits_Identity('jdoe', '20', 'customer', []),
            new Modules_OutgoingMailLimits_Identity('res1', '10', 'reseller'),
        ] as $identity) {
            $php = Modules_OutgoingMailLimits_BridgeClient::inDataDir($identity)->signatureHeaders('put', '/api/v1/mailboxes/alice%40jdoe.example/limit', $body, 1893456000, 'abcdefghijklmnopqrstuv');
            $this->assertSame($this->referenceHeaders($identity, $body), $php, $identity->login . ' ' . json_encode($identity->permittedSubscriptions));
        }
        $withList = Modules_OutgoingMailLimits_BridgeClient::inDataDir(new Modules_OutgoingMailLimits_Identity('jdoe', '20', 'customer', ['jdoe.example']))
            ->signatureHeaders('get', '/api/v1/mailboxes', '', 1893456000, 'abcdefghijklmnopqrstuv');
        $this->assertSame('jdoe.example', $withList['X-OML-Permitted-Subscriptions']);
    }

    public function testACustomerCarriesTheSubscriptionsWhereThePermissionIsOn(): void
    {
        new pm_Domain(300, 'jdoe-b.example', 20, 0);
        $this->assertSame(['jdoe-b.example', 'jdoe.example'], Modules_OutgoingMailLimits_Identity::fromClient(PleskWorld::$jdoe)->permittedSubscriptions);
        PleskWorld::$jdoe->permissions[Modules_OutgoingMailLimits_PleskObjects::PERMISSION][100] = false;
        $this->assertSame(['jdoe-b.example'], Modules_OutgoingMailLimits_Identity::fromClient(PleskWorld::$jdoe)->permittedSubscriptions);
        $this->assertNull(Modules_OutgoingMailLimits_Identity::fromClient(PleskWorld::$res1)->permittedSubscriptions);
        $this->assertNull(Modules_OutgoingMailLimits_Identity::fromClient(PleskWorld::$admin)->permittedSubscriptions);
        // The real bridge takes the signed list: a change on jdoe-b.example's side is hers, jdoe.example's is not.
        $answer = PleskWorld::as(PleskWorld::$jdoe)->json('PUT', '/mailboxes/alice%40jdoe.example/limit', ['limit' => 5]);
        $this->assertSame(403, $answer['status']);
        $this->assertStringContainsString('subscription jdoe.example', $answer['data']['error']);
    }

    public function testACustomerWithThousandsOfSubscriptionsIsStillHeard(): void
    {
        // About 190 KB of names: more than Node's default header limit (16 KiB), within the daemon's.
        for ($i = 0; $i < 3000; $i++) {
            new pm_Domain(10000 + $i, sprintf('customer-subscription-number-%05d.long-hosting-name.example', $i), 20, 0);
        }
        $client = PleskWorld::as(PleskWorld::$jdoe);
        $this->assertCount(3001, $client->identity()->permittedSubscriptions);
        $answer = $client->json('PUT', '/mailboxes/alice%40jdoe.example/limit', ['limit' => 7]);
        $this->assertSame(200, $answer['status'], json_encode($answer['data']));
        $this->assertSame(7, $answer['data']['ownLimit']);
    }

    public function testAnIdentityIsCheckedBeforeItIsSigned(): void
    {
        $this->expectException(InvalidArgumentException::class);
        $this->expectExceptionMessage('Only a customer carries permitted subscriptions.');
        new Modules_OutgoingMailLimits_Identity('res1', '10', 'reseller', ['jdoe.example']);
    }

    public function testTheDaemonSharesItsSocketAndSecretWithTheApiGroup(): void
    {
        $group = posix_getgrnam(BridgeDaemon::group()) ?: ['gid' => (int) BridgeDaemon::group()];
        clearstatcache();
        $this->assertSame($group['gid'], filegroup(BridgeDaemon::$dataDir . '/api.sock'));
        $this->assertSame($group['gid'], filegroup(BridgeDaemon::$dataDir . '/bridge.secret'));
        $this->assertSame('640', decoct(fileperms(BridgeDaemon::$dataDir . '/bridge.secret') & 0777));
        $this->assertSame('660', decoct(fileperms(BridgeDaemon::$dataDir . '/api.sock') & 0777));
    }

    public function testEachRoleGetsWhatTheBridgeAllowsIt(): void
    {
        $this->assertSame(200, PleskWorld::as(PleskWorld::$admin)->json('GET', '/settings')['status']);
        $this->assertSame(403, PleskWorld::as(PleskWorld::$jdoe)->json('GET', '/settings')['status']);
        $mine = PleskWorld::as(PleskWorld::$jdoe)->json('GET', '/mailboxes?pageSize=50');
        $this->assertSame(['alice@jdoe.example', 'bob@jdoe.example', 'sales@jdoe-shop.example'], array_column($mine['data']['items'], 'name'));
        $this->assertSame(404, PleskWorld::as(PleskWorld::$jdoe)->json('GET', '/mailboxes/mary%40mary.example')['status']);
        $resellers = PleskWorld::as(PleskWorld::$res1)->json('GET', '/subscriptions');
        $this->assertSame(['jdoe.example'], array_column($resellers['data']['items'], 'name'));
    }

    public function testSendsJsonBodiesTheSignatureCovers(): void
    {
        $answer = PleskWorld::as(PleskWorld::$jdoe)->json('PUT', '/mailboxes/alice%40jdoe.example/limit', ['limit' => 25]);
        $this->assertSame(200, $answer['status'], json_encode($answer['data']));
        $this->assertSame(25, $answer['data']['effectiveLimit']);
    }

    public function testAWrongSecretIsRefused(): void
    {
        $copy = sys_get_temp_dir() . '/oml-wrong-' . bin2hex(random_bytes(4));
        mkdir($copy);
        file_put_contents($copy . '/bridge.secret', str_repeat('ab', 32) . "\n");
        symlink(BridgeDaemon::$dataDir . '/api.sock', $copy . '/api.sock');
        $answer = Modules_OutgoingMailLimits_BridgeClient::inDataDir(Modules_OutgoingMailLimits_Identity::integration(), $copy)->json('GET', '/settings');
        $this->assertSame(401, $answer['status']);
    }

    public function testSaysPlainlyWhenTheServiceIsNotRunning(): void
    {
        $nowhere = sys_get_temp_dir() . '/oml-nothing-' . bin2hex(random_bytes(4));
        $this->expectException(Modules_OutgoingMailLimits_BridgeUnavailableException::class);
        $this->expectExceptionMessage('The outgoing mail limits service is not running');
        Modules_OutgoingMailLimits_BridgeClient::inDataDir(Modules_OutgoingMailLimits_Identity::integration(), $nowhere)->json('GET', '/settings');
    }

    public function testAStaleSocketWithNoDaemonIsTheSameClearError(): void
    {
        $dir = sys_get_temp_dir() . '/oml-stale-' . bin2hex(random_bytes(4));
        mkdir($dir);
        copy(BridgeDaemon::$dataDir . '/bridge.secret', $dir . '/bridge.secret');
        $server = stream_socket_server('unix://' . $dir . '/api.sock');
        fclose($server); // the socket file stays, nobody listens
        try {
            Modules_OutgoingMailLimits_BridgeClient::inDataDir(Modules_OutgoingMailLimits_Identity::integration(), $dir)->json('GET', '/settings');
            $this->fail('expected the service to be reported as not running');
        } catch (Modules_OutgoingMailLimits_BridgeUnavailableException $error) {
            $this->assertStringStartsWith('The outgoing mail limits service is not running', $error->getMessage());
        }
    }
}
