<?php
use PHPUnit\Framework\TestCase;

final class ApiControllerTest extends TestCase
{
    protected function setUp(): void
    {
        PleskWorld::reset();
        PleskWorld::resync();
        $_SESSION = [];
        PleskStandIn_PanelSession::$forgeryToken = '';
    }

    protected function tearDown(): void
    {
        Modules_OutgoingMailLimits_PleskCsrf::$middlewareClass = self::$pleskCsrf;
        Modules_OutgoingMailLimits_PleskCsrf::$factoryClasses = self::$factories;
        if (session_status() !== PHP_SESSION_ACTIVE) {
            // The panel session again (bootstrap.php: no cache headers, so after PHPUnit's output too).
            session_start();
        }
    }

    private static $pleskCsrf;
    private static $factories;

    public static function setUpBeforeClass(): void
    {
        self::$pleskCsrf = Modules_OutgoingMailLimits_PleskCsrf::$middlewareClass;
        self::$factories = Modules_OutgoingMailLimits_PleskCsrf::$factoryClasses;
    }

    /** A Plesk 18.0.41+ whose PHP has a PSR-17 implementation: Plesk's Csrf middleware runs on writes. */
    private function withPlesksCsrfCheck()
    {
        Modules_OutgoingMailLimits_PleskCsrf::$factoryClasses = [['PleskStandIn_Psr17Factory', 'PleskStandIn_Psr17Factory']];
        PleskStandIn_PanelSession::$forgeryToken = 'panel-token';
    }

    private function call($method, $path, $body = '', array $headers = [], $query = '')
    {
        $controller = new ApiController(new Zend_Controller_Request_Http($method, $path, [], $headers, $body, $query), new Zend_Controller_Response_Http());
        $segments = explode('/', trim($path, '/'));
        return $controller->dispatch(isset($segments[1]) ? $segments[1] : 'index');
    }

    /** The way the screens call: index.php/api/call?path=<encodeURIComponent(path and query)>. */
    private function callEncoded($method, $pathAndQuery, $body = '', array $headers = [])
    {
        $controller = new ApiController(new Zend_Controller_Request_Http($method, '/api/call', ['path' => $pathAndQuery], $headers, $body, 'path=' . rawurlencode($pathAndQuery)), new Zend_Controller_Response_Http());
        return $controller->dispatch('call');
    }

    private function writeHeaders()
    {
        return ['X-Requested-With' => 'XMLHttpRequest', 'X-OML-Forgery-Token' => Modules_OutgoingMailLimits_ForgeryToken::current(), 'Content-Type' => 'application/json'];
    }

    private function aliceLimit()
    {
        return PleskWorld::integration()->json('GET', '/mailboxes/alice%40jdoe.example')['data']['ownLimit'];
    }

    public function testForwardsAReadAndReturnsTheBridgesStatusAndBodyUnchanged(): void
    {
        pm_Session::$client = PleskWorld::$jdoe;
        $response = $this->call('GET', '/api/mailboxes', '', [], 'search=ali&pageSize=10');
        $direct = PleskWorld::as(PleskWorld::$jdoe)->request('GET', '/mailboxes?search=ali&pageSize=10');
        $this->assertSame(200, $response->status);
        $this->assertSame($direct['body'], $response->body);
        $this->assertStringStartsWith('application/json', $response->headers['Content-Type']);
        $this->assertSame(['alice@jdoe.example'], array_column(json_decode($response->body, true)['items'], 'name'));
    }

    public function testTheScreensEncodedPathIsTheSameCall(): void
    {
        pm_Session::$client = PleskWorld::$jdoe;
        $response = $this->callEncoded('GET', '/mailboxes?search=ali&pageSize=10');
        $this->assertSame(200, $response->status, $response->body);
        $this->assertSame($this->call('GET', '/api/mailboxes', '', [], 'search=ali&pageSize=10')->body, $response->body);

        $written = $this->callEncoded('PUT', '/mailboxes/alice%40jdoe.example/limit', '{"limit":7}', $this->writeHeaders());
        $this->assertSame(200, $written->status, $written->body);
        $this->assertSame(7, $this->aliceLimit());
        $this->assertSame(403, $this->callEncoded('PUT', '/mailboxes/alice%40jdoe.example/limit', '{"limit":8}', ['X-Requested-With' => 'XMLHttpRequest'])->status);
        $this->assertSame(7, $this->aliceLimit());

        foreach (['', 'mailboxes', '/../health', '/mailboxes/../../x', '/mailboxes?search=a b', "/x\nX-OML-Role: admin"] as $bad) {
            $this->assertSame(400, $this->callEncoded('GET', $bad)->status, $bad);
        }
    }

    public function testTheSessionCallTellsTheScreensWhoIsSignedIn(): void
    {
        foreach ([[PleskWorld::$jdoe, 'customer'], [PleskWorld::$res1, 'reseller'], [PleskWorld::$admin, 'admin']] as list($client, $role)) {
            pm_Session::$client = $client;
            $response = $this->callEncoded('GET', '/session');
            $this->assertSame(200, $response->status, $response->body);
            $this->assertSame(['login' => $client->getLogin(), 'role' => $role, 'csrfToken' => null, 'via' => 'plesk'], json_decode($response->body, true));
        }
    }

    public function testTheIdentityComesFromTheSessionNotFromTheRequest(): void
    {
        pm_Session::$client = PleskWorld::$jdoe;
        $response = $this->call('GET', '/api/mailboxes/mary%40mary.example', '', ['X-OML-Login' => 'admin', 'X-OML-Role' => 'admin']);
        $this->assertSame(404, $response->status);
        $this->assertSame('Mailbox mary@mary.example not found', json_decode($response->body, true)['error']);
    }

    public function testAWriteWithTheTokenIsForwardedAndApplied(): void
    {
        pm_Session::$client = PleskWorld::$jdoe;
        $response = $this->call('PUT', '/api/mailboxes/alice%40jdoe.example/limit', '{"limit":40}', $this->writeHeaders());
        $this->assertSame(200, $response->status, $response->body);
        $this->assertSame(40, json_decode($response->body, true)['ownLimit']);
        $this->assertSame(40, $this->aliceLimit());
        $audit = PleskWorld::integration()->json('GET', '/audit?level=mailbox&name=alice%40jdoe.example')['data'];
        $this->assertSame('jdoe', $audit['items'][0]['actorLogin']);
    }

    public function testACustomerWithoutThePermissionOnASubscriptionChangesNothingThere(): void
    {
        // jdoe gets a second subscription, B; Plesk's "Manage outgoing mail limits" is off on A (jdoe.example).
        new pm_Domain(300, 'jdoe-b.example', 20, 0, 'jdoeb_ftp');
        pm_Bootstrap::$mail[7] = ['name' => 'info', 'domainId' => 300];
        PleskWorld::resync();
        PleskWorld::$jdoe->permissions[Modules_OutgoingMailLimits_PleskObjects::PERMISSION][100] = false;
        pm_Session::$client = PleskWorld::$jdoe;

        $refused = $this->call('PUT', '/api/mailboxes/alice%40jdoe.example/limit', '{"limit":40}', $this->writeHeaders());
        $this->assertSame(403, $refused->status, $refused->body);
        $this->assertSame(
            'Your account may not manage outgoing mail limits of subscription jdoe.example (Plesk permission "Manage outgoing mail limits"). Ask your provider.',
            json_decode($refused->body, true)['error']
        );
        $this->assertSame('default', $this->aliceLimit());
        // The add-on domain's mailboxes belong to A as well; so does a bulk change that touches A.
        $this->assertSame(403, $this->call('PUT', '/api/mailboxes/sales%40jdoe-shop.example/limit', '{"limit":40}', $this->writeHeaders())->status);
        $bulk = $this->call('POST', '/api/limits/bulk', '{"level":"mailbox","names":["info@jdoe-b.example","alice@jdoe.example"],"limit":3}', $this->writeHeaders());
        $this->assertSame(403, $bulk->status, $bulk->body);

        $allowed = $this->call('PUT', '/api/mailboxes/info%40jdoe-b.example/limit', '{"limit":40}', $this->writeHeaders());
        $this->assertSame(200, $allowed->status, $allowed->body);
        $this->assertSame(40, PleskWorld::integration()->json('GET', '/mailboxes/info%40jdoe-b.example')['data']['ownLimit']);

        // The rows say so, for the screens: no edit on A, edit on B; A stays visible.
        $rows = json_decode($this->call('GET', '/api/mailboxes', '', [], 'pageSize=50')->body, true)['items'];
        $this->assertSame(
            ['alice@jdoe.example' => false, 'bob@jdoe.example' => false, 'info@jdoe-b.example' => true, 'sales@jdoe-shop.example' => false],
            array_column($rows, 'mayChangeLimit', 'name')
        );

        // The reseller of jdoe is not subject to the customer's permission.
        pm_Session::$client = PleskWorld::$res1;
        $this->assertSame(200, $this->call('PUT', '/api/mailboxes/alice%40jdoe.example/limit', '{"limit":40}', $this->writeHeaders())->status);
    }

    public function testEveryWriteWithoutTheRightTokenIsRefusedAndChangesNothing(): void
    {
        pm_Session::$client = PleskWorld::$jdoe;
        Modules_OutgoingMailLimits_ForgeryToken::current();
        $cases = [
            'no token' => ['X-Requested-With' => 'XMLHttpRequest'],
            'wrong token' => ['X-Requested-With' => 'XMLHttpRequest', 'X-OML-Forgery-Token' => str_repeat('0', 64)],
            'not XMLHttpRequest' => ['X-OML-Forgery-Token' => Modules_OutgoingMailLimits_ForgeryToken::current()],
        ];
        foreach ($cases as $case => $headers) {
            foreach (['PUT' => '/api/mailboxes/alice%40jdoe.example/limit', 'POST' => '/api/limits/bulk', 'PATCH' => '/api/settings', 'DELETE' => '/api/directory/mailboxes/alice%40jdoe.example'] as $method => $path) {
                $response = $this->call($method, $path, '{"limit":1}', $headers);
                $this->assertSame(403, $response->status, "{$case}, {$method}");
                $this->assertStringContainsString('forgery-protection token', json_decode($response->body, true)['error']);
            }
        }
        $this->assertSame('default', $this->aliceLimit());
        $this->assertContains('alice@jdoe.example', PleskWorld::names('mailboxes'));
    }

    public function testATokenOfAnotherSessionIsRefused(): void
    {
        pm_Session::$client = PleskWorld::$jdoe;
        $mine = Modules_OutgoingMailLimits_ForgeryToken::current();
        $_SESSION = []; // a new session
        Modules_OutgoingMailLimits_ForgeryToken::current();
        $response = $this->call('PUT', '/api/mailboxes/alice%40jdoe.example/limit', '{"limit":40}', ['X-Requested-With' => 'XMLHttpRequest', 'X-OML-Forgery-Token' => $mine]);
        $this->assertSame(403, $response->status);
    }

    public function testPlesksOwnForgeryCheckRunsOnWritesWhereThisPleskHasIt(): void
    {
        $this->withPlesksCsrfCheck();
        pm_Session::$client = PleskWorld::$jdoe;
        $path = '/api/mailboxes/alice%40jdoe.example/limit';
        foreach (['no Plesk token' => [], 'wrong Plesk token' => ['X-Forgery-Protection-Token' => 'forged']] as $case => $extra) {
            $refused = $this->call('PUT', $path, '{"limit":40}', $this->writeHeaders() + $extra);
            $this->assertSame(403, $refused->status, $case);
            $this->assertStringContainsString('forgery-protection token', json_decode($refused->body, true)['error']);
        }
        $this->assertSame('default', $this->aliceLimit());
        // Plesk's token alone is not enough either: the extension's own stays required.
        $this->assertSame(403, $this->call('PUT', $path, '{"limit":40}', ['X-Requested-With' => 'XMLHttpRequest', 'X-Forgery-Protection-Token' => 'panel-token'])->status);

        $both = $this->call('PUT', $path, '{"limit":40}', $this->writeHeaders() + ['X-Forgery-Protection-Token' => 'panel-token']);
        $this->assertSame(200, $both->status, $both->body);
        $this->assertSame(40, $this->aliceLimit());
        // Reads are not checked.
        $this->assertSame(200, $this->call('GET', '/api/mailboxes')->status);
    }

    public function testWhereThisPleskHasNoSuchCheckTheExtensionsOwnTokenStands(): void
    {
        $this->withPlesksCsrfCheck();
        // A Plesk before 18.0.41: no Plesk\SDK\Middleware\Access\Csrf.
        Modules_OutgoingMailLimits_PleskCsrf::$middlewareClass = 'Plesk\SDK\Middleware\Access\NotInThisPlesk';
        pm_Session::$client = PleskWorld::$jdoe;
        $this->assertNull(Modules_OutgoingMailLimits_PleskCsrf::check(new Zend_Controller_Request_Http('PUT', '/api/x')));
        $this->assertSame(200, $this->call('PUT', '/api/mailboxes/alice%40jdoe.example/limit', '{"limit":41}', $this->writeHeaders())->status);
        $this->assertSame(403, $this->call('PUT', '/api/mailboxes/alice%40jdoe.example/limit', '{"limit":42}', ['X-Requested-With' => 'XMLHttpRequest'])->status);
        $this->assertSame(41, $this->aliceLimit());
        // Nor without a PSR-17 implementation to build the request Plesk's check reads.
        Modules_OutgoingMailLimits_PleskCsrf::$middlewareClass = self::$pleskCsrf;
        Modules_OutgoingMailLimits_PleskCsrf::$factoryClasses = [['No\Such\Factory', 'No\Such\Factory']];
        $this->assertNull(Modules_OutgoingMailLimits_PleskCsrf::check(new Zend_Controller_Request_Http('PUT', '/api/x')));
    }

    public function testWithoutAPhpSessionWritesWorkWithASignedTokenOfThatUserOnly(): void
    {
        pm_Session::$client = PleskWorld::$jdoe;
        session_write_close();
        $token = Modules_OutgoingMailLimits_ForgeryToken::current();
        $this->assertMatchesRegularExpression('/^s1\.\d+\.[0-9a-f]{64}$/', $token);
        $headers = ['X-Requested-With' => 'XMLHttpRequest', 'X-OML-Forgery-Token' => $token];
        $written = $this->call('PUT', '/api/mailboxes/alice%40jdoe.example/limit', '{"limit":12}', $headers);
        $this->assertSame(200, $written->status, $written->body);
        $this->assertSame(12, $this->aliceLimit());

        $tampered = substr($token, 0, -1) . (substr($token, -1) === '0' ? '1' : '0');
        $old = Modules_OutgoingMailLimits_ForgeryToken::current(time() - Modules_OutgoingMailLimits_ForgeryToken::SIGNED_LIFETIME - 1);
        $later = Modules_OutgoingMailLimits_ForgeryToken::current(time() + 3600);
        foreach (['tampered' => $tampered, 'expired' => $old, 'issued in the future' => $later, 'empty' => ''] as $case => $sent) {
            $response = $this->call('PUT', '/api/mailboxes/alice%40jdoe.example/limit', '{"limit":13}', ['X-Requested-With' => 'XMLHttpRequest', 'X-OML-Forgery-Token' => $sent]);
            $this->assertSame(403, $response->status, $case);
        }
        // jdoe's token does not write for the reseller signed in on the same browser later.
        pm_Session::$client = PleskWorld::$res1;
        $this->assertSame(403, $this->call('PUT', '/api/mailboxes/alice%40jdoe.example/limit', '{"limit":14}', $headers)->status);
        $this->assertSame(12, $this->aliceLimit());
    }

    public function testTheBridgesRefusalsComeBackAsTheyAre(): void
    {
        PleskWorld::integration()->json('PUT', '/domains/jdoe.example/limit', ['limit' => 25]);
        pm_Session::$client = PleskWorld::$jdoe;
        $response = $this->call('PUT', '/api/mailboxes/alice%40jdoe.example/limit', '{"limit":30}', $this->writeHeaders());
        $this->assertSame(400, $response->status);
        $this->assertSame('The value must be in the range 0...25. Only the administrator can raise it.', json_decode($response->body, true)['error']);

        $forbidden = $this->call('PATCH', '/api/settings', '{"enabled":false}', $this->writeHeaders());
        $this->assertSame(403, $forbidden->status);
        $invalid = $this->call('PUT', '/api/mailboxes/alice%40jdoe.example/limit', '{"limit":', $this->writeHeaders());
        $this->assertSame(400, $invalid->status);
        $this->assertStringContainsString('invalid JSON', json_decode($invalid->body, true)['error']);
    }

    public function testPathsThatCouldLeaveTheApiAreRefused(): void
    {
        pm_Session::$client = PleskWorld::$admin;
        foreach (['/api/../health', '/api/mailboxes/../../x', '/api/./settings', '/api/a b', "/api/x\nX-OML-Role: admin"] as $path) {
            $this->assertSame(400, $this->call('GET', $path)->status, $path);
        }
        $this->assertSame(400, $this->call('GET', '/api/mailboxes', '', [], "search=a b")->status);
        $this->assertSame(405, $this->call('OPTIONS', '/api/settings')->status);
    }

    public function testSaysPlainlyWhenTheServiceIsNotRunning(): void
    {
        pm_Session::$client = PleskWorld::$admin;
        $running = pm_Context::$varDir;
        pm_Context::$varDir = sys_get_temp_dir() . '/oml-nothing';
        try {
            $response = $this->call('GET', '/api/settings');
        } finally {
            pm_Context::$varDir = $running;
        }
        $this->assertSame(503, $response->status);
        $this->assertStringStartsWith('The outgoing mail limits service is not running', json_decode($response->body, true)['error']);
    }

    public function testNoLayoutAndNoViewAroundTheJson(): void
    {
        pm_Session::$client = PleskWorld::$admin;
        $controller = new ApiController(new Zend_Controller_Request_Http('GET', '/api/settings'), new Zend_Controller_Response_Http());
        $controller->dispatch('settings');
        $this->assertFalse($controller->helpers()->layout()->enabled);
        $this->assertTrue($controller->helpers()->viewRenderer->noRender);
    }
}
