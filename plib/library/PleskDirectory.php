<?php
/**
 * Reads Plesk's subscriptions, domains and mail accounts in the shape of the bridge's directory sync.
 * Domains come from pm_Domain; mail accounts and plans from Plesk's XML API (PleskLimits::read()).
 */
class Modules_OutgoingMailLimits_PleskDirectory
{
    /**
     * alice@example.com for a mail account id among the domains the signed-in person may reach, or null. The XML
     * API finds mail accounts only by domain (mail get_info, filter site-id), so those domains are asked in turn
     * until one has this id.
     */
    public static function mailboxAddressById($mailId, Modules_OutgoingMailLimits_PleskApi $api = null)
    {
        $api = $api ?: new Modules_OutgoingMailLimits_PleskApi();
        $client = pm_Session::getClient();
        foreach (pm_Domain::getAllDomains() as $domain) {
            if (!$client->isAdmin() && !$client->hasAccessToDomain($domain->getId())) {
                continue;
            }
            $mailboxes = $api->mailboxes($domain->getId());
            if (isset($mailboxes[(int) $mailId])) {
                return self::address($mailboxes[(int) $mailId]['name'], $domain->getName());
            }
        }
        return null;
    }

    public static function address($mailName, $domainName)
    {
        return strtolower($mailName . '@' . self::asciiDomain($domainName));
    }

    /** Plesk may keep internationalized names in Unicode; mail and the bridge use the ASCII (punycode) form. */
    public static function asciiDomain($name)
    {
        $name = strtolower((string) $name);
        if (function_exists('idn_to_ascii') && preg_match('/[^\x00-\x7f]/', $name)) {
            $ascii = idn_to_ascii($name, IDNA_DEFAULT, INTL_IDNA_VARIANT_UTS46);
            if ($ascii !== false) {
                return $ascii;
            }
        }
        return $name;
    }

    /**
     * Where notifications go, as the bridge's contacts: [login => lower-case address, or null when Plesk has none]
     * for every customer and reseller that owns a subscription or whose customer does (pm_Client's e-mail
     * property, the address of the account's contact information).
     */
    public static function contacts()
    {
        $contacts = [];
        foreach (pm_Domain::getAllDomains(true) as $main) {
            foreach (Modules_OutgoingMailLimits_PleskObjects::notifiedClients($main) as $login => $client) {
                $contacts[$login] = self::emailOf($client);
            }
        }
        ksort($contacts, SORT_STRING);
        return $contacts;
    }

    /** A client's contact address in lower case, or null when its contact information has none. */
    public static function emailOf(pm_Client $client)
    {
        $email = strtolower(trim((string) $client->getProperty('email')));
        return $email === '' ? null : $email;
    }

    /**
     * The whole directory as the body of POST /directory/sync (without deletes): every subscription (by its
     * main domain) with its plan, every domain, every mail account; $plesk is a PleskLimits::read().
     */
    public static function syncBody(array $plesk)
    {
        $subscriptions = [];
        $domains = [];
        $knownDomains = [];
        foreach (pm_Domain::getAllDomains() as $domain) {
            $main = Modules_OutgoingMailLimits_PleskObjects::subscriptionOf($domain);
            $subscriptionName = self::asciiDomain($main->getName());
            if (!isset($subscriptions[$subscriptionName])) {
                $plan = isset($plesk['subscriptions'][$subscriptionName]) ? $plesk['subscriptions'][$subscriptionName]['plan'] : null;
                $subscriptions[$subscriptionName] = ['name' => $subscriptionName] + Modules_OutgoingMailLimits_PleskObjects::subscriptionSync($main, $plan);
            }
            $domainName = self::asciiDomain($domain->getName());
            $domains[$domainName] = ['name' => $domainName, 'subscription' => $subscriptionName];
            $knownDomains[$domainName] = true;
        }
        $mailboxes = [];
        foreach ($plesk['mailboxes'] as $address => $mailbox) {
            if (isset($knownDomains[$mailbox['domain']])) {
                $mailboxes[$address] = ['address' => $address];
            }
        }
        return [
            'subscriptions' => array_values($subscriptions),
            'domains' => array_values($domains),
            'mailboxes' => array_values($mailboxes),
        ];
    }
}
