<?php
/**
 * Reads Plesk's subscriptions, domains and mail accounts in the shape of the bridge's directory sync.
 * Domains come from pm_Domain; mail accounts from Plesk's database (psa: mail.mail_name, mail.dom_id →
 * domains.id), the one source that lists every mail account of the server in one query.
 */
class Modules_OutgoingMailLimits_PleskDirectory
{
    const ALL_MAIL_ACCOUNTS_SQL = 'SELECT m.id, m.mail_name, d.name AS domain_name FROM mail m INNER JOIN domains d ON d.id = m.dom_id';
    const MAIL_ACCOUNT_BY_ID_SQL = 'SELECT m.id, m.mail_name, d.name AS domain_name FROM mail m INNER JOIN domains d ON d.id = m.dom_id WHERE m.id = ?';

    /** alice@example.com for a mail account id, or null when there is none. */
    public static function mailboxAddressById($mailId)
    {
        $row = pm_Bootstrap::getDbAdapter()->fetchRow(self::MAIL_ACCOUNT_BY_ID_SQL, [(int) $mailId]);
        if (!$row) {
            return null;
        }
        return self::address($row['mail_name'], $row['domain_name']);
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
     * main domain), every domain with mail, every mail account.
     */
    public static function syncBody()
    {
        $subscriptions = [];
        $domains = [];
        $knownDomains = [];
        foreach (pm_Domain::getAllDomains() as $domain) {
            $main = Modules_OutgoingMailLimits_PleskObjects::subscriptionOf($domain);
            $subscriptionName = self::asciiDomain($main->getName());
            if (!isset($subscriptions[$subscriptionName])) {
                $subscriptions[$subscriptionName] = ['name' => $subscriptionName] + Modules_OutgoingMailLimits_PleskObjects::subscriptionSync($main);
            }
            $domainName = self::asciiDomain($domain->getName());
            $domains[$domainName] = ['name' => $domainName, 'subscription' => $subscriptionName];
            $knownDomains[$domainName] = true;
        }
        $mailboxes = [];
        foreach (pm_Bootstrap::getDbAdapter()->fetchAll(self::ALL_MAIL_ACCOUNTS_SQL) as $row) {
            $address = self::address($row['mail_name'], $row['domain_name']);
            $domainName = self::asciiDomain($row['domain_name']);
            if (isset($knownDomains[$domainName])) {
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
