<?php
use PHPUnit\Framework\TestCase;

/**
 * Plesk's own outgoing values after install: changed in Plesk's forms, they become the bridge's on the matching
 * event or the next resync; unchanged ones never overwrite what was set in this product; Plesk's own limiting
 * is switched off again. The XML API answers come from the pm_ApiRpc stand-in in Plesk's documented shapes.
 */
final class PleskValuesTest extends TestCase
{
    /** @var Modules_OutgoingMailLimits_EventListener */
    private static $listener;

    public static function setUpBeforeClass(): void
    {
        self::$listener = new Modules_OutgoingMailLimits_EventListener();
    }

    protected function setUp(): void
    {
        PleskWorld::reset();
        PleskWorld::resync();
    }

    private function event($objectType, $objectId, $action, array $old, array $new)
    {
        self::$listener->handleEvent($objectType, $objectId, $action, $old, $new);
        $this->assertSame([], pm_Log::$lines, 'no event may fail here');
    }

    private function own($collection, $name)
    {
        return PleskWorld::integration()->json('GET', "/{$collection}/" . rawurlencode($name))['data']['ownLimit'];
    }

    public function testAValueChangedInPlesksOwnFormsIsTakenOverOnItsEvent(): void
    {
        // A mailbox's limit (Mail → the address → Outgoing messages).
        pm_Bootstrap::$mail[1]['limit'] = '9';
        $this->event('mailname', 1, 'mailname_update', ['Mailname' => 'alice', 'Domain Name' => 'jdoe.example'], ['Mailname' => 'alice', 'Domain Name' => 'jdoe.example']);
        $this->assertSame(9, $this->own('mailboxes', 'alice@jdoe.example'));

        // An add-on domain's limit (Mail Settings → Limit Outgoing Messages).
        pm_ApiRpc::$domainLimits[101] = 'unlimited';
        $this->event('site', 101, 'site_update', ['Domain Name' => 'jdoe-shop.example'], ['Domain Name' => 'jdoe-shop.example']);
        $this->assertSame('unlimited', $this->own('domains', 'jdoe-shop.example'));

        // A subscription's limit (Subscriptions → Outgoing Mail Limits) and its main domain's.
        pm_ApiRpc::$subscriptionLimits[100]['subscription'] = '700';
        pm_ApiRpc::$domainLimits[100] = '60';
        $this->event('domain', 100, 'domain_limits_update', [], []);
        $this->assertSame(700, $this->own('subscriptions', 'jdoe.example'));
        $this->assertSame(60, $this->own('domains', 'jdoe.example'));

        // Back to "default" in Plesk: no own value any more.
        pm_Bootstrap::$mail[1]['limit'] = 'default';
        $this->event('mailname', 1, 'mailname_update', ['Mailname' => 'alice', 'Domain Name' => 'jdoe.example'], ['Mailname' => 'alice', 'Domain Name' => 'jdoe.example']);
        $this->assertSame('default', $this->own('mailboxes', 'alice@jdoe.example'));
    }

    public function testACustomersChangeInPlesksFormsMeetsTheRulesTheAdministratorSetForCustomers(): void
    {
        // Customers may not change limits here: the same customer changing one in Plesk's form gets nowhere.
        PleskWorld::integration()->json('PATCH', '/settings', ['customersMayChangeLimits' => false]);
        pm_Session::$client = PleskWorld::$jdoe;
        pm_Bootstrap::$mail[1]['limit'] = 'unlimited';
        self::$listener->handleEvent('mailname', 1, 'mailname_update', ['Mailname' => 'alice', 'Domain Name' => 'jdoe.example'], ['Mailname' => 'alice', 'Domain Name' => 'jdoe.example']);
        $this->assertSame('default', $this->own('mailboxes', 'alice@jdoe.example'));
        $this->assertCount(1, pm_Log::$lines);
        $this->assertStringContainsString("Plesk's limit of alice@jdoe.example was not taken over: 403", pm_Log::$lines[0]);
        $this->assertStringEndsWith('(changed in Plesk by jdoe)', pm_Log::$lines[0]);
        // Nor does the next resync, which acts with Plesk's own authority, take it over.
        pm_Session::$client = PleskWorld::$admin;
        $this->assertSame(0, PleskWorld::resync()['pleskValues']);
        $this->assertSame('default', $this->own('mailboxes', 'alice@jdoe.example'));

        // Allowed: the customer's value is taken over.
        PleskWorld::integration()->json('PATCH', '/settings', ['customersMayChangeLimits' => true]);
        pm_Log::$lines = [];
        pm_Session::$client = PleskWorld::$jdoe;
        pm_Bootstrap::$mail[1]['limit'] = '5';
        $this->event('mailname', 1, 'mailname_update', ['Mailname' => 'alice', 'Domain Name' => 'jdoe.example'], ['Mailname' => 'alice', 'Domain Name' => 'jdoe.example']);
        $this->assertSame(5, $this->own('mailboxes', 'alice@jdoe.example'));
    }

    public function testValuesSeenWrittenByRootStayReadableForThePanelsUser(): void
    {
        // The tests run as root, as install and the scheduled resync do.
        $varDir = sys_get_temp_dir() . '/oml-var-' . getmypid();
        mkdir($varDir, 0750);
        $nobody = posix_getpwnam('nobody');
        chown($varDir, $nobody['uid']);
        chgrp($varDir, $nobody['gid']);
        $limits = new Modules_OutgoingMailLimits_PleskLimits(new Modules_OutgoingMailLimits_PleskApi(), $varDir, function () {
            return '';
        });
        $limits->pickUp(PleskWorld::integration(), [], true, function () {
        });
        $file = $varDir . '/' . Modules_OutgoingMailLimits_PleskLimits::SEEN_FILE;
        $this->assertSame([$nobody['uid'], $nobody['gid'], '600'], [fileowner($file), filegroup($file), substr(sprintf('%o', fileperms($file)), -3)]);
        unlink($file);
        rmdir($varDir);
    }

    public function testTheXmlApiStandInRefusesAPacketPleskWouldRefuse(): void
    {
        $this->expectException(LogicException::class);
        $this->expectExceptionMessage('<gen_info> is not expected in <dataset> here');
        (new pm_ApiRpc())->call('<packet><webspace><get><filter/><dataset><mail/><gen_info/></dataset></get></webspace></packet>');
    }

    public function testTheResyncTakesOverWhatChangedInPleskAndNothingElse(): void
    {
        // Set in this product: Plesk's value did not change, so the resync leaves it.
        PleskWorld::integration()->json('PUT', '/mailboxes/bob%40jdoe.example/limit', ['limit' => 5]);
        PleskWorld::integration()->json('PATCH', '/settings', ['defaults' => ['domain' => 444]]);
        // Changed in Plesk while no event came: Mail Server Settings, a mailbox, a subscription on its plan.
        pm_ApiRpc::$server['outgoing_messages_mbox_limit'] = '-1';
        pm_Bootstrap::$mail[4]['limit'] = '3';
        $counts = PleskWorld::resync();
        $this->assertSame(2, $counts['pleskValues']);
        $defaults = PleskWorld::integration()->json('GET', '/settings')['data']['defaults'];
        $this->assertSame(['mailbox' => 'unlimited', 'domain' => 444, 'subscription' => 1000], $defaults);
        $this->assertSame(3, $this->own('mailboxes', 'mary@mary.example'));
        $this->assertSame(5, $this->own('mailboxes', 'bob@jdoe.example'));
        $this->assertSame(0, PleskWorld::resync()['pleskValues'], 'a second resync finds nothing new');
    }

    public function testAValueThisExtensionDoesNotUnderstandIsNeverTakenAsInheritAndIsSaid(): void
    {
        PleskWorld::integration()->json('PUT', '/mailboxes/bob%40jdoe.example/limit', ['limit' => 5]);
        pm_Bootstrap::$mail[2]['limit'] = '5000000000';
        pm_Bootstrap::$mail[4]['limit'] = 'lots';
        $this->assertSame(0, PleskWorld::resync()['pleskValues']);
        $this->assertSame(5, $this->own('mailboxes', 'bob@jdoe.example'));
        $this->assertSame('default', $this->own('mailboxes', 'mary@mary.example'));
        $this->assertSame([
            "Outgoing mail limits: Plesk's limit of bob@jdoe.example was not taken over: Plesk's value \"5000000000\" is not a number up to 1000000000, -1, \"unlimited\" or \"default\"; the value here is left as it was (taken as its owner jdoe)",
            "Outgoing mail limits: Plesk's limit of mary@mary.example was not taken over: Plesk's value \"lots\" is not a number up to 1000000000, -1, \"unlimited\" or \"default\"; the value here is left as it was (taken as its owner mary)",
        ], pm_Log::$lines);
        pm_Log::$lines = [];
        pm_ApiRpc::$server['outgoing_messages_domain_limit'] = '-7';
        PleskWorld::resync();
        $this->assertStringStartsWith("Outgoing mail limits: Plesk's limit of the server default per domain was not taken over: Plesk's value \"-7\"", pm_Log::$lines[0]);
        $this->assertSame(500, PleskWorld::integration()->json('GET', '/settings')['data']['defaults']['domain']);
        // Fixed in Plesk: taken over.
        pm_Bootstrap::$mail[4]['limit'] = '50';
        PleskWorld::resync();
        $this->assertSame(50, $this->own('mailboxes', 'mary@mary.example'));
    }

    public function testTheResyncTakesDomainAndMailboxValuesAsTheSubscriptionsOwner(): void
    {
        // A customer's change no event passed on (the bridge was down, say) is not taken with Plesk's authority.
        PleskWorld::integration()->json('PATCH', '/settings', ['customersMayChangeLimits' => false]);
        pm_Bootstrap::$mail[1]['limit'] = 'unlimited';
        pm_ApiRpc::$domainLimits[101] = '100000';
        // The subscription's value only the administrator sets in Plesk: taken.
        pm_ApiRpc::$subscriptionLimits[100]['subscription'] = '2000';
        $this->assertSame(1, PleskWorld::resync()['pleskValues']);
        $this->assertSame(2000, $this->own('subscriptions', 'jdoe.example'));
        $this->assertSame('default', $this->own('mailboxes', 'alice@jdoe.example'));
        $this->assertSame('default', $this->own('domains', 'jdoe-shop.example'));
        $this->assertCount(2, pm_Log::$lines);
        $this->assertStringStartsWith("Outgoing mail limits: Plesk's limit of jdoe-shop.example was not taken over: 403", pm_Log::$lines[0]);
        $this->assertStringEndsWith('(taken as its owner jdoe)', pm_Log::$lines[1]);
        // Refused once, refused for good: the next resync does not try again with anyone's authority.
        pm_Log::$lines = [];
        $this->assertSame(0, PleskWorld::resync()['pleskValues']);
        $this->assertSame([], pm_Log::$lines);
    }

    public function testASubscriptionValueEqualToItsPlansIsThePlansNotItsOwn(): void
    {
        pm_ApiRpc::$plans['guid-silver'] = ['id' => 7, 'name' => 'Silver', 'mbox' => '20', 'domain' => 'default', 'subscription' => '300'];
        pm_ApiRpc::$subscriptionPlans[100] = 'guid-silver';
        pm_ApiRpc::$subscriptionLimits[100]['subscription'] = '300';
        PleskWorld::resync();
        $subscription = PleskWorld::integration()->json('GET', '/subscriptions/jdoe.example')['data'];
        $this->assertSame(['default', 300, 'plan'], [$subscription['ownLimit'], $subscription['effectiveLimit'], $subscription['limitSource']]);
        // Customized on the subscription (it does not get locked in Plesk): its own value.
        pm_ApiRpc::$subscriptionLimits[100]['subscription'] = '350';
        PleskWorld::resync();
        $this->assertSame(350, $this->own('subscriptions', 'jdoe.example'));
    }

    public function testAResellerEventSendsItsSubscriptionsWithTheirPlansInTwoRequests(): void
    {
        pm_ApiRpc::$plans['guid-silver'] = ['id' => 7, 'name' => 'Silver', 'mbox' => '20', 'domain' => 'default', 'subscription' => '300'];
        pm_ApiRpc::$subscriptionPlans[100] = 'guid-silver';
        new pm_Domain(300, 'jdoe-two.example', 20, 0, 'jdoe2_ftp'); // res1 resells two subscriptions
        PleskWorld::resync();
        pm_ApiRpc::$requests = [];
        $this->event('reseller', 10, 'reseller_update', [], []);
        $this->assertSame(['webspace', 'service-plan'], array_map(function ($packet) {
            return (new SimpleXMLElement($packet))->children()[0]->getName();
        }, pm_ApiRpc::$requests));
        $alice = PleskWorld::integration()->json('GET', '/mailboxes/alice%40jdoe.example')['data'];
        $this->assertSame([20, 'plan'], [$alice['effectiveLimit'], $alice['limitSource']], 'the plan stays');
    }

    public function testTheMailboxFormFindsItsAddressAmongTheDomainsOfThePersonOnly(): void
    {
        pm_Session::$client = PleskWorld::$jdoe;
        pm_ApiRpc::$requests = [];
        $this->assertSame('sales@jdoe-shop.example', Modules_OutgoingMailLimits_PleskDirectory::mailboxAddressById(3));
        $this->assertSame([
            '<packet><mail><get_info><filter><site-id>100</site-id></filter></get_info></mail></packet>',
            '<packet><mail><get_info><filter><site-id>101</site-id></filter></get_info></mail></packet>',
        ], pm_ApiRpc::$requests);
        $this->assertNull(Modules_OutgoingMailLimits_PleskDirectory::mailboxAddressById(4), "mary's mailbox is not searched for jdoe");
        pm_Session::$client = PleskWorld::$admin;
        $this->assertSame('mary@mary.example', Modules_OutgoingMailLimits_PleskDirectory::mailboxAddressById(4));
    }

    public function testPlesksOwnLimitingSwitchedOnAgainIsSwitchedOffAndSaid(): void
    {
        $calls = [];
        $limits = new Modules_OutgoingMailLimits_PleskLimits(new Modules_OutgoingMailLimits_PleskApi(), pm_Context::getVarDir(), function (array $args) use (&$calls) {
            $calls[] = implode(' ', $args);
            pm_ApiRpc::$server['outgoing_antispam'] = 'false';
            return '';
        });
        $said = [];
        $say = function ($line) use (&$said) {
            $said[] = $line;
        };
        $this->assertFalse($limits->keepNativeOff($limits->read()['server'], $say), 'off: nothing to do');
        pm_ApiRpc::$server['outgoing_antispam'] = 'true';
        $this->assertTrue($limits->keepNativeOff($limits->read()['server'], $say));
        $this->assertSame(['bin mailserver --disable-outgoing-antispam'], $calls);
        $this->assertStringContainsString("Plesk's own outgoing mail limiting had been switched on again; it is switched off", $said[0]);
    }

    public function testUninstallGivesBackWhatDiffersAndOneRefusalKeepsNoOtherValueFromGoingBack(): void
    {
        $record = ['server' => pm_ApiRpc::$server, 'subscriptions' => [], 'domains' => [], 'mailboxes' => []];
        $record['server']['outgoing_antispam'] = 'true';
        PleskWorld::integration()->json('PUT', '/mailboxes/bob%40jdoe.example/limit', ['limit' => 7]);
        PleskWorld::integration()->json('PUT', '/domains/jdoe-shop.example/limit', ['limit' => 33]);
        PleskWorld::integration()->json('PUT', '/subscriptions/mary.example/limit', ['limit' => 'unlimited']);
        $calls = [];
        $limits = new Modules_OutgoingMailLimits_PleskLimits(new Modules_OutgoingMailLimits_PleskApi(), pm_Context::getVarDir(), function (array $args) use (&$calls) {
            $calls[] = implode(' ', $args);
            if ($args[1] === 'mail') {
                throw new RuntimeException('plesk bin mail failed (exit 1): Unable to update the mail name');
            }
            pm_ApiRpc::$server['outgoing_antispam'] = 'true';
            return '';
        });
        $said = [];
        $written = $limits->giveBack(PleskWorld::integration(), $record, function ($line) use (&$said) {
            $said[] = $line;
        });
        $this->assertSame(2, $written);
        $this->assertSame('33', pm_ApiRpc::domainLimit(101));
        $this->assertSame('-1', pm_ApiRpc::subscriptionValue(200, 'subscription'));
        $this->assertSame(['bin mail --update bob@jdoe.example -outgoing-messages-mbox-limit 7', 'bin mailserver --enable-outgoing-antispam'], $calls);
        $this->assertSame("Plesk's limit of bob@jdoe.example could not be set to 7: plesk bin mail failed (exit 1): Unable to update the mail name. Set it in Plesk yourself.", $said[0]);
        $this->assertSame('true', pm_ApiRpc::$server['outgoing_antispam']);
        $this->assertStringContainsString('2 value(s) written back', end($said));
    }

    public function testPlesksStateIsReportedAndABridgeWithoutTheEndpointIsOnlySaid(): void
    {
        $bridge = new class ('/nowhere', '/nowhere', Modules_OutgoingMailLimits_Identity::integration()) extends Modules_OutgoingMailLimits_BridgeClient {
            public $calls = [];
            public $status = 404;

            public function json($method, $pathAndQuery, $data = null)
            {
                $this->calls[] = [$method, $pathAndQuery, $data];
                return ['status' => $this->status, 'data' => ['error' => 'no such endpoint: PUT /api/v1/platform/plesk']];
            }
        };
        $said = [];
        $say = function ($line) use (&$said) {
            $said[] = $line;
        };
        $this->assertFalse(Modules_OutgoingMailLimits_PleskLimits::report($bridge, false, 'postfix', $say));
        $this->assertSame(["Plesk's state was not reported to the limits service: 404 no such endpoint: PUT /api/v1/platform/plesk"], $said);
        list($method, $path, $body) = $bridge->calls[0];
        $this->assertSame(['PUT', '/platform/plesk', 'off', 'postfix'], [$method, $path, $body['nativeLimiting'], $body['mailServer']]);
        $this->assertMatchesRegularExpression('/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/', $body['checkedAt']);
        $bridge->status = 204;
        $this->assertTrue(Modules_OutgoingMailLimits_PleskLimits::report($bridge, true, 'postfix', $say));
        $this->assertSame('on', $bridge->calls[1][2]['nativeLimiting']);
        $this->assertCount(1, $said, 'a report taken is not said');
    }

    public function testTheRequestsArePlesksDocumentedPackets(): void
    {
        pm_ApiRpc::$requests = [];
        PleskWorld::resync();
        $this->assertSame([
            '<packet><server><get><components/><prefs/></get></server></packet>',
            '<packet><service-plan><get><filter/><owner-all/></get></service-plan></packet>',
            '<packet><webspace><get><filter/><dataset><gen_info/><prefs/><subscriptions/><mail/></dataset></get></webspace></packet>',
            '<packet><site><get><filter/><dataset><gen_info/><prefs/></dataset></get></site></packet>',
        ], array_slice(pm_ApiRpc::$requests, 0, 4));
        $this->assertSame('<packet><mail><get_info><filter><site-id>100</site-id></filter></get_info></mail></packet>', pm_ApiRpc::$requests[4]);
    }

    public function testAnErrorAnswerIsAnErrorWithPlesksMessageNeverAValue(): void
    {
        $api = new Modules_OutgoingMailLimits_PleskApi();
        try {
            $api->mailboxes(999);
            $this->fail('no error');
        } catch (RuntimeException $error) {
            $this->assertSame("Plesk's XML API mail get_info failed: 1013 Site does not exist", $error->getMessage());
        }
        try {
            $api->setDomainLimit('jdoe-shop.example', 'lots', false);
            $this->fail('no error');
        } catch (RuntimeException $error) {
            $this->assertStringContainsString('1019 Invalid value of outgoing-messages-domain-limit', $error->getMessage());
        }
        $refusing = new Modules_OutgoingMailLimits_PleskApi(function ($packet) {
            return (new pm_ApiRpc())->call('<packet><server><get><components/></get></server><webspace/></packet>');
        });
        try {
            $refusing->server();
            $this->fail('no error');
        } catch (RuntimeException $error) {
            $this->assertSame("Plesk's XML API refused the request: 1014 Parser error: Request is invalid.", $error->getMessage());
        }
    }

    public function testPlesksValuesMapToTheBridgesAndBack(): void
    {
        $map = [];
        foreach (['0', '25', '-1', 'unlimited', 'default', '', null, 'lots', '-5', '1000000001'] as $raw) {
            $map[] = [Modules_OutgoingMailLimits_PleskLimitValue::fromPlesk($raw), Modules_OutgoingMailLimits_PleskLimitValue::understood($raw)];
        }
        $this->assertSame([[0, true], [25, true], ['unlimited', true], ['unlimited', true], [null, true], [null, true], [null, true], [null, false], [null, false], [null, false]], $map);
        $this->assertSame(['7', '-1', 'default', 'default'], array_map([Modules_OutgoingMailLimits_PleskLimitValue::class, 'toPlesk'], [7, 'unlimited', 'default', null]));
        $this->assertTrue(Modules_OutgoingMailLimits_PleskLimitValue::same('unlimited', 'unlimited'));
        $this->assertTrue(Modules_OutgoingMailLimits_PleskLimitValue::same('default', 'default'));
        $this->assertFalse(Modules_OutgoingMailLimits_PleskLimitValue::same('7', 8));
    }

    public function testOnlyPostfixOnThisHostIsTakenOver(): void
    {
        $here = sys_get_temp_dir() . '/oml-postfix-' . getmypid();
        @mkdir($here);
        touch($here . '/main.cf');
        $detect = function (array $components, $dir) {
            return Modules_OutgoingMailLimits_PleskMailServer::detect($components, $dir);
        };
        $this->assertSame('postfix', $detect(['postfix' => '3.7.11', 'qmail' => ''], $here));
        $this->assertSame('remote', $detect(['postfix' => '3.7.11'], $here . '/nowhere'));
        $this->assertSame('qmail', $detect(['qmail' => '1.03', 'postfix' => ''], $here));
        $this->assertSame('none', $detect(['dovecot' => '2.3'], $here));
        unlink($here . '/main.cf');
        rmdir($here);
    }
}
