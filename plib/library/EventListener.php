<?php
/**
 * Keeps the bridge's directory in step with Plesk: subscriptions (domain_*), add-on domains (site_*) and mail
 * accounts (mailname_*), created, renamed, moved and deleted; a subscription's service plan values when its
 * limits change (domain_limits_update: plan switched, synced or customized) and every subscription's when a
 * service plan changes (template_domain_update, synced to its subscriptions). Each of these reads the object's
 * outgoing limit as Plesk has it now (XML API) and takes it over when it changed in Plesk's own forms since last
 * seen (DirectorySync → PleskLimits::pickUp). Also the notification addresses and
 * logins of customers and resellers (client_*, reseller_*). Every call is an idempotent upsert or delete, so a
 * repeated event does no harm. A failure never breaks the Plesk operation that raised the event: it is logged
 * and remembered, and `plesk bin extension --exec outgoing-mail-limits resync.php` repairs the directory.
 *
 * Event names are <object type>_<action> as Plesk's extension guide lists them ("Object Types and Actions");
 * reseller_* is not in that list and may never come: then the next client event or resync catches up.
 */
class Modules_OutgoingMailLimits_EventListener implements EventListener
{
    /** @var Modules_OutgoingMailLimits_DirectorySync|null */
    private $sync;

    public function __construct(Modules_OutgoingMailLimits_DirectorySync $sync = null)
    {
        $this->sync = $sync;
    }

    public function filterActions()
    {
        return [
            'domain_create', 'domain_update', 'domain_delete', 'domain_owner_change',
            'site_create', 'site_update', 'site_delete',
            'mailname_create', 'mailname_update', 'mailname_delete',
            'domain_limits_update', 'template_domain_update',
            'client_create', 'client_update', 'client_delete',
            'reseller_create', 'reseller_update', 'reseller_delete',
        ];
    }

    public function handleEvent($objectType, $objectId, $action, $oldValues, $newValues)
    {
        $oldValues = is_array($oldValues) ? $oldValues : [];
        $newValues = is_array($newValues) ? $newValues : [];
        try {
            $this->apply($objectId, $action, $oldValues, $newValues);
        } catch (Exception $error) {
            pm_Log::err("Outgoing mail limits: {$action} of {$objectType} {$objectId} was not passed on: {$error->getMessage()}");
            pm_Settings::set(Modules_OutgoingMailLimits_DirectorySync::RESYNC_NEEDED_SETTING, (string) time());
        }
    }

    private function apply($objectId, $action, array $old, array $new)
    {
        $sync = $this->sync ?: new Modules_OutgoingMailLimits_DirectorySync(Modules_OutgoingMailLimits_BridgeClient::forIntegration());
        switch ($action) {
            case 'domain_create':
            case 'site_create':
            case 'domain_owner_change':
                $sync->upsertDomain(pm_Domain::getByDomainId((int) $objectId));
                return;
            case 'domain_limits_update':
                $sync->upsertDomain(pm_Domain::getByDomainId((int) $objectId));
                return;
            case 'template_domain_update':
                // Plesk gives no list of a plan's subscriptions here: every subscription gets its plan again.
                $sync->refreshPlans();
                return;
            case 'domain_update':
            case 'site_update':
                $sync->upsertDomain(pm_Domain::getByDomainId((int) $objectId), self::value($old, 'Domain Name'));
                return;
            case 'domain_delete':
            case 'site_delete':
                $sync->deleteDomain(self::required($old, 'Domain Name'), $action === 'domain_delete');
                return;
            case 'mailname_create':
                $sync->upsertMailbox(self::address($new));
                return;
            case 'mailname_update':
                $mailname = (string) self::value($old, 'Mailname');
                $previous = $mailname !== '' && (strpos($mailname, '@') !== false || self::value($old, 'Domain Name') !== null) ? self::address($old) : null;
                $sync->upsertMailbox(self::address($new), $previous);
                return;
            case 'mailname_delete':
                $sync->deleteMailbox(self::address($old));
                return;
            case 'client_create':
            case 'client_update':
            case 'client_delete':
            case 'reseller_create':
            case 'reseller_update':
            case 'reseller_delete':
                // The client is read from Plesk (a deleted one is simply gone): the event's values are not needed.
                $sync->refreshClient((int) $objectId);
                return;
        }
    }

    /** The mail account's address: "Mailname" is its local part, next to "Domain Name"; a full address is taken as is. */
    private static function address(array $values)
    {
        $mailname = self::required($values, 'Mailname');
        $at = strrpos($mailname, '@');
        if ($at !== false) {
            return Modules_OutgoingMailLimits_PleskDirectory::address(substr($mailname, 0, $at), substr($mailname, $at + 1));
        }
        return Modules_OutgoingMailLimits_PleskDirectory::address($mailname, self::required($values, 'Domain Name'));
    }

    private static function value(array $values, $key)
    {
        return isset($values[$key]) && $values[$key] !== '' ? (string) $values[$key] : null;
    }

    private static function required(array $values, $key)
    {
        $value = self::value($values, $key);
        if ($value === null) {
            throw new UnexpectedValueException("the event carries no \"{$key}\"");
        }
        return $value;
    }
}

// Plesk loads this file and uses the instance it returns; the context must be set for pm_ calls from events.
pm_Context::init('outgoing-mail-limits');

return new Modules_OutgoingMailLimits_EventListener();
