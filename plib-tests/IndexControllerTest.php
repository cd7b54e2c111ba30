<?php
use PHPUnit\Framework\TestCase;

final class IndexControllerTest extends TestCase
{
    protected function setUp(): void
    {
        PleskWorld::reset();
        $_SESSION = [];
    }

    private function show($action, array $params = [])
    {
        $controller = new IndexController(new Zend_Controller_Request_Http('GET', "/index/{$action}", $params), new Zend_Controller_Response_Http());
        return $controller->dispatch($action)->body;
    }

    /** The props handed to the bundle's default export, read back from the printed script. */
    private function props($html)
    {
        $this->assertStringContainsString('<div id="outgoing-mail-limits"></div>', $html);
        $this->assertSame(1, preg_match('#<script>require\(\["/modules/outgoing-mail-limits/dist/main\.js"\], function \(bundle\) \{ bundle\.default\((.*)\); \}\);</script>#', $html, $match), $html);
        return json_decode($match[1], true);
    }

    public function testTheAdminsSettingsScreen(): void
    {
        $props = $this->props($this->show('settings'));
        $this->assertSame('settings', $props['screen']);
        $this->assertSame('outgoing-mail-limits', $props['moduleId']);
        $this->assertSame('/modules/outgoing-mail-limits', $props['baseUrl']);
        $this->assertSame('/modules/outgoing-mail-limits/index.php/api', $props['apiBaseUrl']);
        $this->assertSame('en-US', $props['locale']);
        $this->assertSame([], $props['context']);
        $this->assertSame(Modules_OutgoingMailLimits_ForgeryToken::current(), $props['forgeryToken']);
        $this->assertMatchesRegularExpression('/^[0-9a-f]{64}$/', $props['forgeryToken']);
    }

    public function testTheEntryPageOpensWhatTheRoleMayUse(): void
    {
        $this->assertSame('settings', $this->props($this->show('index'))['screen']);
        pm_Session::$client = PleskWorld::$res1;
        $this->assertSame('overview', $this->props($this->show('index'))['screen']);
    }

    public function testServerScreensAreClosedToCustomersAndSettingsToResellers(): void
    {
        pm_Session::$client = PleskWorld::$res1;
        $this->assertSame('overview', $this->props($this->show('overview'))['screen']);
        $this->assertDenied(function () {
            $this->show('settings');
        });
        pm_Session::$client = PleskWorld::$jdoe;
        foreach (['settings', 'overview', 'index'] as $action) {
            $this->assertDenied(function () use ($action) {
                $this->show($action);
            });
        }
    }

    public function testASubscriptionScreenForWhoeverHasAccessToIt(): void
    {
        foreach ([PleskWorld::$admin, PleskWorld::$res1, PleskWorld::$jdoe] as $client) {
            pm_Session::$client = $client;
            $props = $this->props($this->show('subscription', ['dom_id' => '101']));
            $this->assertSame('subscription', $props['screen']);
            $this->assertSame(['subscription' => 'jdoe.example', 'domain' => 'jdoe-shop.example'], $props['context']);
            $mailboxes = $this->props($this->show('mailboxes', ['dom_id' => '100']));
            $this->assertSame(['subscription' => 'jdoe.example', 'domain' => 'jdoe.example'], $mailboxes['context']);
        }
    }

    public function testAnotherOwnersSubscriptionOrAMissingPermissionIsRefused(): void
    {
        pm_Session::$client = PleskWorld::$mary;
        foreach (['subscription', 'mailboxes'] as $action) {
            $this->assertDenied(function () use ($action) {
                $this->show($action, ['dom_id' => '100']);
            });
        }
        pm_Session::$client = PleskWorld::$res1;
        $this->assertDenied(function () {
            $this->show('subscription', ['dom_id' => '200']);
        });
        PleskWorld::$jdoe->permissions[Modules_OutgoingMailLimits_PleskObjects::PERMISSION] = false;
        pm_Session::$client = PleskWorld::$jdoe;
        $this->assertDenied(function () {
            $this->show('mailboxes', ['dom_id' => '100']);
        });
        $this->assertDenied(function () {
            $this->show('mailboxes', []);
        });
    }

    private function assertDenied(callable $show)
    {
        try {
            $show();
        } catch (pm_Exception $denied) {
            $this->assertNotSame('', $denied->getMessage());
            return;
        }
        $this->fail('expected the screen to be refused');
    }
}
