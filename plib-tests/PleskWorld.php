<?php
/**
 * The Plesk server the tests run against: the admin, reseller res1 with customer jdoe, customer mary of the
 * admin (mary has no e-mail address); subscriptions with add-on domains and mail accounts. Each test resets it
 * and the bridge's directory and contacts.
 */
final class PleskWorld
{
    public static $admin;
    public static $res1;
    public static $jdoe;
    public static $mary;

    public static function reset()
    {
        pm_Client::$all = [];
        pm_Domain::$all = [];
        pm_Locale::$code = 'en-US';
        pm_Bootstrap::$mail = [];
        pm_ApiRpc::reset();
        // Plesk's own defaults are the bridge's (every resync takes a changed one over): the same values as below.
        pm_ApiRpc::$server = ['outgoing_antispam' => 'false', 'outgoing_messages_mbox_limit' => '100', 'outgoing_messages_domain_limit' => '500', 'outgoing_messages_subscription_limit' => '1000'];
        @unlink(pm_Context::getVarDir() . Modules_OutgoingMailLimits_PleskLimits::SEEN_FILE);
        pm_Settings::$values = [];
        pm_Log::$lines = [];
        self::$admin = new pm_Client(1, 'admin', 'admin', 0, 'admin@server.example');
        self::$res1 = new pm_Client(10, 'res1', 'reseller', 0, 'billing@res1.example');
        self::$jdoe = new pm_Client(20, 'jdoe', 'client', 10, 'JDoe@Customer.example');
        self::$mary = new pm_Client(21, 'mary', 'client', 1, '');
        new pm_Domain(100, 'jdoe.example', 20, 0, 'jdoe_ftp');
        new pm_Domain(101, 'jdoe-shop.example', 20, 100);
        new pm_Domain(200, 'mary.example', 21, 0, 'mary_ftp');
        pm_Bootstrap::$mail = [
            1 => ['name' => 'alice', 'domainId' => 100],
            2 => ['name' => 'bob', 'domainId' => 100],
            3 => ['name' => 'sales', 'domainId' => 101],
            4 => ['name' => 'mary', 'domainId' => 200],
        ];
        pm_Session::$client = self::$admin;
        // An empty bridge directory, then Plesk's, through the code under test's own full resync.
        $bridge = self::integration();
        $emptied = $bridge->json('PUT', '/directory', ['subscriptions' => []]);
        if ($emptied['status'] !== 200) {
            throw new RuntimeException('Cannot empty the directory: ' . json_encode($emptied));
        }
        foreach ($bridge->json('GET', '/directory/contacts')['data']['items'] as $contact) {
            $bridge->json('DELETE', '/directory/contacts/' . rawurlencode($contact['login']));
        }
        $reset = $bridge->json('PATCH', '/settings', ['enabled' => true, 'defaults' => ['mailbox' => 100, 'domain' => 500, 'subscription' => 1000], 'customersMayChangeLimits' => true]);
        if ($reset['status'] !== 200) {
            throw new RuntimeException('Cannot reset settings: ' . json_encode($reset));
        }
    }

    public static function integration()
    {
        return Modules_OutgoingMailLimits_BridgeClient::inDataDir(Modules_OutgoingMailLimits_Identity::integration());
    }

    public static function as(pm_Client $client)
    {
        return Modules_OutgoingMailLimits_BridgeClient::inDataDir(Modules_OutgoingMailLimits_Identity::fromClient($client));
    }

    public static function resync()
    {
        return (new Modules_OutgoingMailLimits_DirectorySync(self::integration()))->fullResync();
    }

    /** The bridge's notification contacts as [login => address]. */
    public static function contacts()
    {
        $contacts = [];
        foreach (self::integration()->json('GET', '/directory/contacts')['data']['items'] as $item) {
            $contacts[$item['login']] = $item['address'];
        }
        return $contacts;
    }

    /** Names in one collection as the admin sees them. */
    public static function names($collection)
    {
        $answer = self::integration()->json('GET', "/{$collection}?pageSize=200");
        return array_column($answer['data']['items'], 'name');
    }
}
