<?php
/** Plesk's objects as the bridge names them: a subscription is named after its main domain. */
class Modules_OutgoingMailLimits_PleskObjects
{
    const PERMISSION = 'manage_outgoing_mail_limits';

    /**
     * The main domain of the subscription (webspace) the domain belongs to. pm_Domain has no getter for it: the
     * domains table's webspace_id is 0 for a main domain and the main domain's id for the others.
     */
    public static function subscriptionOf(pm_Domain $domain)
    {
        $webspaceId = (int) $domain->getProperty('webspace_id');
        if ($webspaceId === 0 || $webspaceId === (int) $domain->getId()) {
            return $domain;
        }
        return pm_Domain::getByDomainId($webspaceId);
    }

    /** The reseller a subscription's owner belongs to, or null (the admin's customers, resellers, the admin). */
    public static function resellerOf(pm_Client $owner)
    {
        if (!$owner->isClient()) {
            return null;
        }
        $parentId = (int) $owner->getProperty('parent_id');
        $parent = $parentId > 0 ? pm_Client::getByClientId($parentId) : null;
        return $parent !== null && $parent->isReseller() ? $parent : null;
    }

    /**
     * The body of PUT /directory/subscriptions/{name} for a subscription's main domain; $plan is its service
     * plan's values ({name, mailbox, domain, subscription}, Plesk's own plan fields) or null without a plan.
     */
    public static function subscriptionSync(pm_Domain $main, $plan)
    {
        $owner = $main->getClient();
        $reseller = self::resellerOf($owner);
        $systemUser = $main->hasHosting() ? $main->getSysUserLogin() : null;
        return ['owner' => $owner->getLogin(), 'reseller' => $reseller === null ? null : $reseller->getLogin(), 'systemUser' => $systemUser ?: null, 'plan' => $plan];
    }

    /**
     * The subscriptions (ASCII names, sorted) on which this customer holds "Manage outgoing mail limits": signed
     * into every request, so that the bridge refuses limit changes elsewhere. Null for the admin and resellers,
     * who are not subject to the permission.
     */
    public static function permittedSubscriptions(pm_Client $client)
    {
        if (!$client->isClient()) {
            return null;
        }
        $names = [];
        foreach (pm_Domain::getDomainsByClient($client, true) as $main) {
            if ($client->hasPermission(self::PERMISSION, $main)) {
                $names[] = Modules_OutgoingMailLimits_PleskDirectory::asciiDomain($main->getName());
            }
        }
        $names = array_values(array_unique($names));
        sort($names, SORT_STRING);
        return $names;
    }

    /**
     * Whom notifications about this subscription's objects go to besides the administrator: its owner (customer or
     * reseller) and the owner's reseller, as [login => pm_Client]. The administrator's own address is a server
     * setting, not a contact.
     */
    public static function notifiedClients(pm_Domain $main)
    {
        $owner = $main->getClient();
        $clients = [];
        if (!$owner->isAdmin()) {
            $clients[$owner->getLogin()] = $owner;
        }
        $reseller = self::resellerOf($owner);
        if ($reseller !== null) {
            $clients[$reseller->getLogin()] = $reseller;
        }
        return $clients;
    }

    /** The domain with this id, or null when Plesk has none. */
    public static function domainById($id)
    {
        if ((int) $id <= 0) {
            return null;
        }
        try {
            return pm_Domain::getByDomainId((int) $id);
        } catch (pm_Exception $missing) {
            return null;
        }
    }

    /** The domain with this name (as the bridge writes it, ASCII; Plesk may keep it in Unicode), or null. */
    public static function domainByName($name)
    {
        $candidates = [strtolower((string) $name)];
        if (function_exists('idn_to_utf8') && strpos($candidates[0], 'xn--') !== false) {
            $unicode = idn_to_utf8($candidates[0], IDNA_DEFAULT, INTL_IDNA_VARIANT_UTS46);
            if ($unicode !== false) {
                $candidates[] = $unicode;
            }
        }
        foreach ($candidates as $candidate) {
            try {
                return pm_Domain::getByName($candidate);
            } catch (pm_Exception $missing) {
                // try the next spelling
            }
        }
        return null;
    }

    /**
     * The domain with this id (a button's contextParams: site_id, else dom_id), if the signed-in person may
     * manage its outgoing mail limits; throws pm_Exception otherwise.
     */
    public static function accessibleDomain($domainId)
    {
        $client = pm_Session::getClient();
        $id = (int) $domainId;
        if ($id <= 0) {
            throw new pm_Exception('No domain given.');
        }
        if (!$client->hasAccessToDomain($id)) {
            throw new pm_Exception('Access denied.');
        }
        $domain = pm_Domain::getByDomainId($id);
        if ($client->isClient() && !$client->hasPermission(self::PERMISSION, $domain)) {
            throw new pm_Exception('Your account may not manage outgoing mail limits. Ask your provider.');
        }
        return $domain;
    }
}
