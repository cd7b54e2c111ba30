<?php
/** Plesk's objects as the bridge names them: a subscription is named after its main domain. */
class Modules_OutgoingMailLimits_PleskObjects
{
    const PERMISSION = 'manage_outgoing_mail_limits';

    /** The main domain of the subscription (webspace) the domain belongs to. */
    public static function subscriptionOf(pm_Domain $domain)
    {
        $webspaceId = (int) $domain->getWebspaceId();
        if ($webspaceId === 0 || $webspaceId === (int) $domain->getId()) {
            return $domain;
        }
        return pm_Domain::getByDomainId($webspaceId);
    }

    /** The body of PUT /directory/subscriptions/{name} for a subscription's main domain. */
    public static function subscriptionSync(pm_Domain $main)
    {
        $owner = $main->getClient();
        $reseller = null;
        if ($owner->isClient()) {
            $parentId = (int) $owner->getProperty('parent_id');
            $parent = $parentId > 0 ? pm_Client::getByClientId($parentId) : null;
            if ($parent !== null && $parent->isReseller()) {
                $reseller = $parent->getLogin();
            }
        }
        $systemUser = $main->hasHosting() ? $main->getSysUserLogin() : null;
        return ['owner' => $owner->getLogin(), 'reseller' => $reseller, 'systemUser' => $systemUser ?: null];
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
     * The domain named in the request (dom_id from a button's contextParams, or id), if the signed-in person
     * may manage its outgoing mail limits; throws pm_Exception otherwise.
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
