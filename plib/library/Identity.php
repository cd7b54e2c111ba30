<?php
/**
 * Who the bridge is told is asking: the Plesk user's login, id and role, signed into every request; for a
 * customer also the subscriptions on which Plesk grants "Manage outgoing mail limits" (the bridge refuses limit
 * changes everywhere else, and treats a customer without the list as holding the permission nowhere).
 */
class Modules_OutgoingMailLimits_Identity
{
    const INTEGRATION_LOGIN = 'plesk';
    const INTEGRATION_USER_ID = 'plesk-integration';

    /** @var string */
    public $login;
    /** @var string */
    public $userId;
    /** @var string admin, reseller or customer */
    public $role;
    /** @var string[]|null customers: ASCII subscription names; null for the other roles */
    public $permittedSubscriptions;

    public function __construct($login, $userId, $role, array $permittedSubscriptions = null)
    {
        if (!in_array($role, ['admin', 'reseller', 'customer'], true)) {
            throw new InvalidArgumentException("Unknown role \"{$role}\".");
        }
        if ($role !== 'customer' && $permittedSubscriptions !== null) {
            throw new InvalidArgumentException('Only a customer carries permitted subscriptions.');
        }
        $this->login = (string) $login;
        $this->userId = (string) $userId;
        $this->role = $role;
        // A customer given no list holds the permission nowhere, as the bridge reads a missing header.
        $this->permittedSubscriptions = $role === 'customer' ? array_values(array_map('strval', (array) $permittedSubscriptions)) : null;
    }

    /** @param pm_Client $client */
    public static function fromClient($client)
    {
        if ($client->isAdmin()) {
            return new self($client->getLogin(), (string) $client->getId(), 'admin');
        }
        if ($client->isReseller()) {
            return new self($client->getLogin(), (string) $client->getId(), 'reseller');
        }
        return new self($client->getLogin(), (string) $client->getId(), 'customer', Modules_OutgoingMailLimits_PleskObjects::permittedSubscriptions($client));
    }

    /** Plesk itself (event listener, resync, install): administrator rights, named so the audit log shows it. */
    public static function integration()
    {
        return new self(self::INTEGRATION_LOGIN, self::INTEGRATION_USER_ID, 'admin');
    }
}
