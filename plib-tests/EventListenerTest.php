<?php
use PHPUnit\Framework\TestCase;

final class EventListenerTest extends TestCase
{
    /** @var Modules_OutgoingMailLimits_EventListener */
    private static $fromFile;

    public static function setUpBeforeClass(): void
    {
        // Plesk loads the file and uses the instance it returns.
        self::$fromFile = require dirname(__DIR__) . '/plib/library/EventListener.php';
    }

    protected function setUp(): void
    {
        PleskWorld::reset();
        PleskWorld::resync();
    }

    private function event($objectType, $objectId, $action, array $old, array $new)
    {
        self::$fromFile->handleEvent($objectType, $objectId, $action, $old, $new);
        $this->assertSame([], pm_Log::$lines, 'no event may fail here');
    }

    public function testTheFileReturnsTheListenerForTheEventsItHandles(): void
    {
        $this->assertInstanceOf(Modules_OutgoingMailLimits_EventListener::class, self::$fromFile);
        $this->assertSame('outgoing-mail-limits', pm_Context::$id);
        $this->assertSame([
            'domain_create', 'domain_update', 'domain_delete', 'domain_owner_change',
            'site_create', 'site_update', 'site_delete',
            'mailname_create', 'mailname_update', 'mailname_delete',
            'domain_limits_update', 'template_domain_update',
            'client_create', 'client_update', 'client_delete',
            'reseller_create', 'reseller_update', 'reseller_delete',
        ], self::$fromFile->filterActions());
    }

    public function testMailAccountsCreatedRenamedAndDeleted(): void
    {
        pm_Bootstrap::$mail[5] = ['name' => 'carol', 'domainId' => 101];
        $this->event('mailname', 5, 'mailname_create', [], ['Mailname' => 'carol', 'Domain Name' => 'jdoe-shop.example']);
        $this->event('mailname', 5, 'mailname_create', [], ['Mailname' => 'carol', 'Domain Name' => 'jdoe-shop.example']); // repeated: no harm
        $this->assertContains('carol@jdoe-shop.example', PleskWorld::names('mailboxes'));

        PleskWorld::integration()->json('PUT', '/mailboxes/carol%40jdoe-shop.example/limit', ['limit' => 7]);
        $this->event('mailname', 5, 'mailname_update', ['Mailname' => 'carol', 'Domain Name' => 'jdoe-shop.example'], ['Mailname' => 'caroline', 'Domain Name' => 'jdoe-shop.example']);
        $names = PleskWorld::names('mailboxes');
        $this->assertContains('caroline@jdoe-shop.example', $names);
        $this->assertNotContains('carol@jdoe-shop.example', $names);
        $renamed = PleskWorld::integration()->json('GET', '/mailboxes/caroline%40jdoe-shop.example')['data'];
        $this->assertSame(7, $renamed['ownLimit'], 'a rename keeps the limit');

        $this->event('mailname', 5, 'mailname_delete', ['Mailname' => 'caroline', 'Domain Name' => 'jdoe-shop.example'], []);
        $this->event('mailname', 5, 'mailname_delete', ['Mailname' => 'caroline', 'Domain Name' => 'jdoe-shop.example'], []);
        $this->assertNotContains('caroline@jdoe-shop.example', PleskWorld::names('mailboxes'));
    }

    public function testAMailnameWithTheWholeAddressIsTakenAsIs(): void
    {
        pm_Bootstrap::$mail[5] = ['name' => 'dora', 'domainId' => 101];
        $this->event('mailname', 5, 'mailname_create', [], ['Mailname' => 'Dora@JDoe-Shop.example']);
        $this->event('mailname', 5, 'mailname_update', ['Mailname' => 'dora@jdoe-shop.example'], ['Mailname' => 'dorothy', 'Domain Name' => 'jdoe-shop.example']);
        $names = PleskWorld::names('mailboxes');
        $this->assertContains('dorothy@jdoe-shop.example', $names);
        $this->assertNotContains('dora@jdoe-shop.example', $names);
    }

    public function testSubscriptionsAndDomainsCreatedRenamedAndDeleted(): void
    {
        new pm_Domain(300, 'new.example', 21, 0, 'new_ftp');
        $this->event('domain', 300, 'domain_create', [], ['Domain Name' => 'new.example']);
        new pm_Domain(301, 'addon.example', 21, 300);
        $this->event('site', 301, 'site_create', [], ['Domain Name' => 'addon.example']);
        $subscription = PleskWorld::as(PleskWorld::$mary)->json('GET', '/subscriptions/new.example');
        $this->assertSame(200, $subscription['status'], 'the owner sees the new subscription');
        $this->assertSame('new.example', PleskWorld::integration()->json('GET', '/domains/addon.example')['data']['subscription']);

        PleskWorld::integration()->json('PUT', '/subscriptions/new.example/limit', ['limit' => 9]);
        new pm_Domain(300, 'renamed.example', 21, 0, 'new_ftp');
        $this->event('domain', 300, 'domain_update', ['Domain Name' => 'new.example'], ['Domain Name' => 'renamed.example']);
        $this->assertSame(9, PleskWorld::integration()->json('GET', '/subscriptions/renamed.example')['data']['ownLimit']);
        $this->assertSame('renamed.example', PleskWorld::integration()->json('GET', '/domains/addon.example')['data']['subscription']);
        $this->assertNotContains('new.example', PleskWorld::names('subscriptions'));

        $this->event('site', 301, 'site_delete', ['Domain Name' => 'addon.example'], []);
        $this->assertNotContains('addon.example', PleskWorld::names('domains'));
        $this->event('domain', 300, 'domain_delete', ['Domain Name' => 'renamed.example'], []);
        $this->assertNotContains('renamed.example', PleskWorld::names('subscriptions'));
        $this->assertNotContains('renamed.example', PleskWorld::names('domains'));
    }

    public function testAnOwnerChangeMovesTheSubscriptionToTheNewOwner(): void
    {
        new pm_Domain(200, 'mary.example', 20, 0, 'mary_ftp'); // now jdoe's, under reseller res1
        $this->event('domain', 200, 'domain_owner_change', [], []);
        $this->assertSame(200, PleskWorld::as(PleskWorld::$jdoe)->json('GET', '/subscriptions/mary.example')['status']);
        $this->assertSame(200, PleskWorld::as(PleskWorld::$res1)->json('GET', '/subscriptions/mary.example')['status']);
        $this->assertSame(404, PleskWorld::as(PleskWorld::$mary)->json('GET', '/subscriptions/mary.example')['status']);
    }

    public function testAFailureNeverBreaksPleskAndAsksForAResync(): void
    {
        $running = pm_Context::$varDir;
        pm_Context::$varDir = sys_get_temp_dir() . '/oml-nothing';
        try {
            self::$fromFile->handleEvent('mailname', 9, 'mailname_create', [], ['Mailname' => 'x', 'Domain Name' => 'jdoe.example']);
        } finally {
            pm_Context::$varDir = $running;
        }
        $this->assertCount(1, pm_Log::$lines);
        $this->assertStringContainsString('mailname_create of mailname 9 was not passed on: The outgoing mail limits service is not running', pm_Log::$lines[0]);
        $this->assertNotEmpty(pm_Settings::get(Modules_OutgoingMailLimits_DirectorySync::RESYNC_NEEDED_SETTING));

        pm_Log::$lines = [];
        self::$fromFile->handleEvent('mailname', 9, 'mailname_create', [], ['Domain Name' => 'jdoe.example']);
        $this->assertStringContainsString('the event carries no "Mailname"', pm_Log::$lines[0]);
    }

    public function testTheFullResyncAddsWhatIsNewDeletesWhatIsGoneAndKeepsLimits(): void
    {
        PleskWorld::integration()->json('PUT', '/mailboxes/alice%40jdoe.example/limit', ['limit' => 11]);
        unset(pm_Bootstrap::$mail[2]); // bob deleted while events were lost
        unset(pm_Domain::$all[101]); // so was the add-on domain, with sales@
        unset(pm_Bootstrap::$mail[3]);
        new pm_Domain(400, 'late.example', 1);
        pm_Bootstrap::$mail[6] = ['name' => 'info', 'domainId' => 400];

        $counts = PleskWorld::resync();
        $this->assertSame(3, $counts['deleted']);
        $this->assertSame(['alice@jdoe.example', 'info@late.example', 'mary@mary.example'], PleskWorld::names('mailboxes'));
        $this->assertSame(['jdoe.example', 'late.example', 'mary.example'], PleskWorld::names('subscriptions'));
        $this->assertSame(11, PleskWorld::integration()->json('GET', '/mailboxes/alice%40jdoe.example')['data']['ownLimit']);
        $this->assertSame(0, PleskWorld::resync()['deleted'], 'a second resync changes nothing');
    }

    public function testTheResyncPagesThroughLargeDirectories(): void
    {
        for ($i = 0; $i < 450; $i++) {
            pm_Bootstrap::$mail[1000 + $i] = ['name' => "user{$i}", 'domainId' => 200];
        }
        PleskWorld::resync();
        foreach (range(0, 449) as $i) {
            unset(pm_Bootstrap::$mail[1000 + $i]);
        }
        $this->assertSame(450, PleskWorld::resync()['deleted']);
        $this->assertSame(['alice@jdoe.example', 'bob@jdoe.example', 'mary@mary.example', 'sales@jdoe-shop.example'], PleskWorld::names('mailboxes'));
    }

    private function mailbox($address)
    {
        return PleskWorld::integration()->json('GET', '/mailboxes/' . rawurlencode($address))['data'];
    }

    public function testASubscriptionFollowsItsServicePlansValuesUnlessItHasItsOwn(): void
    {
        // jdoe.example is on Plesk's plan "Silver": 20 per mailbox, no domain value, 300 for the subscription.
        pm_ApiRpc::$plans['guid-silver'] = ['id' => 7, 'name' => 'Silver', 'mbox' => '20', 'domain' => 'default', 'subscription' => '300'];
        pm_ApiRpc::$subscriptionPlans[100] = 'guid-silver';
        $this->event('domain', 100, 'domain_limits_update', [], []);
        $this->assertSame(['effectiveLimit' => 20, 'limitSource' => 'plan'], array_intersect_key($this->mailbox('alice@jdoe.example'), ['effectiveLimit' => 0, 'limitSource' => 0]));
        $this->assertSame('plan', $this->mailbox('sales@jdoe-shop.example')['limitSource'], 'add-on domains follow the plan of their subscription');
        $domain = PleskWorld::integration()->json('GET', '/domains/jdoe.example')['data'];
        $this->assertSame([500, 'default'], [$domain['effectiveLimit'], $domain['limitSource']]);
        $subscription = PleskWorld::integration()->json('GET', '/subscriptions/jdoe.example')['data'];
        $this->assertSame([300, 'plan'], [$subscription['effectiveLimit'], $subscription['limitSource']]);
        $this->assertSame('default', $this->mailbox('mary@mary.example')['limitSource'], 'no plan: the server default');

        // An own value wins; the plan changes and is synced to its subscriptions: the rest follow the new value.
        PleskWorld::integration()->json('PUT', '/mailboxes/bob%40jdoe.example/limit', ['limit' => 5]);
        pm_ApiRpc::$plans['guid-silver']['mbox'] = '12';
        pm_ApiRpc::$requests = [];
        $this->event('service-plan', 7, 'template_domain_update', [], []);
        // It runs in the plan form's request: plans and subscriptions only, not every mail account.
        $this->assertSame(['webspace', 'service-plan'], array_map(function ($packet) {
            return (new SimpleXMLElement($packet))->children()[0]->getName();
        }, pm_ApiRpc::$requests));
        $this->assertSame([12, 'plan'], [$this->mailbox('alice@jdoe.example')['effectiveLimit'], $this->mailbox('alice@jdoe.example')['limitSource']]);
        $this->assertSame([5, 'own'], [$this->mailbox('bob@jdoe.example')['effectiveLimit'], $this->mailbox('bob@jdoe.example')['limitSource']]);

        // Off the plan: back to the server defaults.
        unset(pm_ApiRpc::$subscriptionPlans[100]);
        $this->event('domain', 100, 'domain_limits_update', [], []);
        $this->assertSame([100, 'default'], [$this->mailbox('alice@jdoe.example')['effectiveLimit'], $this->mailbox('alice@jdoe.example')['limitSource']]);
    }

    public function testTheFullResyncSendsTheAddressesOfCustomersAndResellersThatOwnOrResellSubscriptions(): void
    {
        // setUp's resync sent them: jdoe (customer of res1) and res1 itself; mary has no address, and the admin's
        // address is a server setting, not a contact.
        $this->assertSame(['jdoe' => 'jdoe@customer.example', 'res1' => 'billing@res1.example'], PleskWorld::contacts());
        new pm_Client(30, 'idle', 'client', 10, 'idle@customer.example'); // owns nothing: no contact
        $this->assertSame(['set' => 0, 'unchanged' => 2, 'removed' => 0, 'refused' => 0], PleskWorld::resync()['contacts'], 'a second resync changes nothing');

        // Changed and removed in Plesk while events were lost; a contact nobody in Plesk has any more.
        PleskWorld::$jdoe->email = 'new@customer.example';
        PleskWorld::$res1->email = '';
        PleskWorld::integration()->json('PUT', '/directory/contacts/gone', ['address' => 'gone@old.example']);
        $this->assertSame(['set' => 1, 'unchanged' => 0, 'removed' => 2, 'refused' => 0], PleskWorld::resync()['contacts']);
        $this->assertSame(['jdoe' => 'new@customer.example'], PleskWorld::contacts());
    }

    public function testAnAddressTheBridgeRefusesIsLoggedAndLeavesNoOutdatedContact(): void
    {
        PleskWorld::resync();
        PleskWorld::$jdoe->email = 'not an address';
        $counts = PleskWorld::resync();
        $this->assertSame(1, $counts['contacts']['refused']);
        $this->assertSame(['res1' => 'billing@res1.example'], PleskWorld::contacts());
        $this->assertCount(1, pm_Log::$lines);
        $this->assertStringContainsString('notifications for jdoe cannot go to "not an address"', pm_Log::$lines[0]);
        $this->assertStringContainsString('must be an email address', pm_Log::$lines[0]);
    }

    public function testANewSubscriptionBringsItsOwnersAddress(): void
    {
        new pm_Client(22, 'ann', 'client', 10, 'ann@customer.example');
        new pm_Domain(300, 'ann.example', 22, 0, 'ann_ftp');
        $this->event('domain', 300, 'domain_create', [], ['Domain Name' => 'ann.example']);
        $this->assertSame('ann@customer.example', PleskWorld::contacts()['ann']);
        $this->assertSame('billing@res1.example', PleskWorld::contacts()['res1']);
    }

    public function testClientEventsKeepAddressesAndLoginsCurrent(): void
    {
        PleskWorld::resync();
        // An address changes.
        PleskWorld::$jdoe->email = 'jd@elsewhere.example';
        $this->event('client', 20, 'client_update', ['Email' => 'jdoe@customer.example'], ['Email' => 'jd@elsewhere.example']);
        $this->event('client', 20, 'client_update', ['Email' => 'jdoe@customer.example'], ['Email' => 'jd@elsewhere.example']); // repeated: no harm
        $this->assertSame('jd@elsewhere.example', PleskWorld::contacts()['jdoe']);

        // A login changes: the subscriptions follow, the old login's contact goes.
        PleskWorld::$jdoe = new pm_Client(20, 'johndoe', 'client', 10, 'jd@elsewhere.example');
        $this->event('client', 20, 'client_update', ['Login Name' => 'jdoe'], ['Login Name' => 'johndoe']);
        $this->assertSame(['johndoe' => 'jd@elsewhere.example', 'res1' => 'billing@res1.example'], PleskWorld::contacts());
        $this->assertSame(200, PleskWorld::as(PleskWorld::$jdoe)->json('GET', '/subscriptions/jdoe.example')['status']);

        // The reseller's address changes (whether Plesk names the event reseller_update or client_update).
        PleskWorld::$res1->email = 'sales@res1.example';
        $this->event('reseller', 10, 'reseller_update', [], []);
        $this->assertSame('sales@res1.example', PleskWorld::contacts()['res1']);

        // The customer is deleted with its subscription: both go.
        unset(pm_Domain::$all[100], pm_Domain::$all[101], pm_Client::$all[20]);
        $this->event('domain', 100, 'domain_delete', ['Domain Name' => 'jdoe.example'], []);
        $this->event('client', 20, 'client_delete', ['Login Name' => 'johndoe'], []);
        $this->assertSame([], PleskWorld::contacts(), 'res1 resells nothing any more');
    }

    public function testTheFullResyncCarriesThePlans(): void
    {
        // A reseller's plan: Plesk lists it only with owner-all.
        pm_ApiRpc::$plans['guid-bronze'] = ['id' => 8, 'name' => 'Bronze', 'owner' => 'res1', 'mbox' => '0', 'domain' => '-1', 'subscription' => 'default'];
        pm_ApiRpc::$subscriptionPlans[200] = 'guid-bronze';
        PleskWorld::resync();
        $this->assertSame([0, 'plan'], [$this->mailbox('mary@mary.example')['effectiveLimit'], $this->mailbox('mary@mary.example')['limitSource']]);
        $this->assertSame('default', $this->mailbox('alice@jdoe.example')['limitSource']);
    }
}
