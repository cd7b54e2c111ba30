<?php
use PHPUnit\Framework\TestCase;

final class UiControllerTest extends TestCase
{
    /** @var Zend_Controller_Response_Http */
    private $lastResponse;

    protected function setUp(): void
    {
        PleskWorld::reset();
        $_SESSION = [];
    }

    /** @return Zend_Controller_Response_Http */
    private function open($controller, $action, array $params = [])
    {
        $class = ucfirst($controller) . 'Controller';
        $this->lastResponse = new Zend_Controller_Response_Http();
        $page = new $class(new Zend_Controller_Request_Http('GET', "/{$controller}/{$action}", $params), $this->lastResponse);
        return $page->dispatch($action);
    }

    private function show($action, array $params = [])
    {
        return $this->open('ui', $action, $params)->body;
    }

    /** The props handed to the bundle's default export, read back from the printed script. */
    private function props($html)
    {
        $this->assertStringContainsString('<div id="outgoing-mail-limits"></div>', $html);
        $this->assertSame(1, preg_match('#<script>require\(\["/modules/outgoing-mail-limits/dist/main\.js"\], function \(bundle\) \{ bundle\.default\((.*)\); \}\);</script>#', $html, $match), $html);
        return json_decode($match[1], true);
    }

    public function testTheSettingsScreenHasThePropsOfTheMountContract(): void
    {
        $props = $this->props($this->show('settings'));
        $this->assertSame(['moduleId', 'baseUrl', 'locale', 'screen', 'context'], array_keys($props));
        $this->assertSame('outgoing-mail-limits', $props['moduleId']);
        $this->assertSame('/modules/outgoing-mail-limits/', $props['baseUrl']);
        $this->assertSame('en-US', $props['locale']);
        $this->assertSame('settings', $props['screen']);
        $this->assertSame([
            'apiBase' => '/modules/outgoing-mail-limits/index.php/api/call?path=',
            'forgeryToken' => Modules_OutgoingMailLimits_ForgeryToken::current(),
            'returnUrl' => '/admin/server/tools',
        ], $props['context']);
        $this->assertMatchesRegularExpression('/^[0-9a-f]{64}$/', $props['context']['forgeryToken']);
    }

    public function testEveryScreenOpensWhereThePanelHasNoPhpSession(): void
    {
        session_write_close();
        try {
            $props = $this->props($this->show('settings'));
            $this->assertMatchesRegularExpression('/^s1\.\d+\.[0-9a-f]{64}$/', $props['context']['forgeryToken']);
            $this->assertTrue(Modules_OutgoingMailLimits_ForgeryToken::matches($props['context']['forgeryToken']));
            pm_Session::$client = PleskWorld::$jdoe;
            $this->assertSame('overview', $this->props($this->open('index', 'index')->body)['screen']);
        } finally {
            // The panel session again (bootstrap.php: no cache headers, so after PHPUnit's output too).
            session_start();
        }
    }

    public function testTheEntryPageOpensWhatTheRoleMayUse(): void
    {
        $this->assertSame('settings', $this->props($this->open('index', 'index')->body)['screen']);
        foreach ([PleskWorld::$res1, PleskWorld::$jdoe] as $client) {
            pm_Session::$client = $client;
            $props = $this->props($this->open('index', 'index')->body);
            $this->assertSame('overview', $props['screen']);
            $this->assertArrayNotHasKey('returnUrl', $props['context']);
        }
    }

    public function testOnlyTheAdminOpensTheSettings(): void
    {
        foreach ([PleskWorld::$res1, PleskWorld::$jdoe] as $client) {
            pm_Session::$client = $client;
            $this->assertRefused(403, 'Only the administrator', function () {
                $this->show('settings');
            });
            $this->assertSame('overview', $this->props($this->show('overview'))['screen']);
            $this->assertSame('subscriptions', $this->props($this->show('subscriptions'))['screen']);
        }
    }

    public function testSubscriptionAndDomainScreensByNameForWhoeverHasAccess(): void
    {
        foreach ([PleskWorld::$admin, PleskWorld::$res1, PleskWorld::$jdoe] as $client) {
            pm_Session::$client = $client;
            $domain = $this->props($this->show('domain', ['name' => 'jdoe-shop.example']));
            $this->assertSame('domain', $domain['screen']);
            $this->assertSame('jdoe-shop.example', $domain['context']['name']);
            $subscription = $this->props($this->show('subscription', ['name' => 'jdoe.example']));
            $this->assertSame(['subscription', 'jdoe.example'], [$subscription['screen'], $subscription['context']['name']]);
            // An add-on domain's name opens the subscription it belongs to.
            $this->assertSame('jdoe.example', $this->props($this->show('subscription', ['name' => 'jdoe-shop.example']))['context']['name']);
        }
    }

    public function testHeldMailForEveryoneWithTheObjectOfANotificationLink(): void
    {
        foreach ([PleskWorld::$admin, PleskWorld::$res1, PleskWorld::$jdoe] as $client) {
            pm_Session::$client = $client;
            $all = $this->props($this->show('held'));
            $this->assertSame('held', $all['screen']);
            $this->assertArrayNotHasKey('name', $all['context']);
            $one = $this->props($this->show('held', ['level' => 'mailbox', 'name' => 'Alice@jdoe.example']));
            $this->assertSame('alice@jdoe.example', $one['context']['name']);
        }
    }

    public function testHistoryForEveryoneOptionallyOfOneObject(): void
    {
        foreach ([PleskWorld::$admin, PleskWorld::$res1, PleskWorld::$jdoe] as $client) {
            pm_Session::$client = $client;
            $all = $this->props($this->show('history'));
            $this->assertSame('history', $all['screen']);
            $this->assertArrayNotHasKey('name', $all['context']);
            $this->assertSame('alice@jdoe.example', $this->props($this->show('history', ['name' => 'Alice@jdoe.example']))['context']['name']);
        }
    }

    public function testPlesksButtonsOpenTheScreensWithTheDomainId(): void
    {
        pm_Session::$client = PleskWorld::$jdoe;
        $this->assertSame('jdoe.example', $this->props($this->show('subscription', ['dom_id' => '101']))['context']['name']);
        $this->assertSame('jdoe-shop.example', $this->props($this->show('domain', ['site_id' => '101']))['context']['name']);
        $this->assertSame('jdoe.example', $this->props($this->show('domain', ['dom_id' => '100']))['context']['name']);
        // A button on an add-on domain's page: dom_id is its subscription, site_id the domain itself.
        $this->assertSame('jdoe-shop.example', $this->props($this->show('domain', ['dom_id' => '100', 'site_id' => '101']))['context']['name']);
        $this->assertSame('jdoe.example', $this->props($this->show('subscription', ['dom_id' => '100', 'site_id' => '101']))['context']['name']);
    }

    public function testAnotherOwnersDomainLooksExactlyLikeAMissingOne(): void
    {
        pm_Session::$client = PleskWorld::$mary;
        foreach (['subscription', 'domain'] as $action) {
            foreach ([['name' => 'jdoe.example'], ['dom_id' => '100'], ['name' => 'nowhere.example'], ['dom_id' => '999'], []] as $params) {
                $this->assertRefused(404, 'not found or not yours', function () use ($action, $params) {
                    $this->show($action, $params);
                });
            }
        }
        pm_Session::$client = PleskWorld::$res1;
        $this->assertRefused(404, 'Domain mary.example not found or not yours.', function () {
            $this->show('domain', ['name' => 'mary.example']);
        });
    }

    public function testACustomerWithoutThePermissionIsRefused(): void
    {
        PleskWorld::$jdoe->permissions[Modules_OutgoingMailLimits_PleskObjects::PERMISSION][100] = false;
        pm_Session::$client = PleskWorld::$jdoe;
        $this->assertRefused(403, 'may not manage outgoing mail limits', function () {
            $this->show('domain', ['name' => 'jdoe.example']);
        });
    }

    public function testNamesCannotBreakOutOfTheScript(): void
    {
        new pm_Domain(300, 'x</script><script>alert(1)//.example', 1);
        $html = $this->show('domain', ['name' => 'x</script><script>alert(1)//.example']);
        $this->assertSame(1, substr_count($html, '</script>'));
        $this->assertSame('x</script><script>alert(1)//.example', $this->props($html)['context']['name']);
    }

    private function assertRefused($status, $message, callable $show)
    {
        try {
            $show();
        } catch (pm_Exception $refused) {
            $this->assertStringContainsString($message, $refused->getMessage());
            $this->assertSame($status, $this->lastResponse->status);
            $this->assertStringNotContainsString('bundle.default', $this->lastResponse->body);
            return;
        }
        $this->fail('expected the screen to be refused');
    }
}
