<?php
/** Who the bridge is told is asking: the Plesk user's login, id and role, signed into every request. */
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

    public function __construct($login, $userId, $role)
    {
        if (!in_array($role, ['admin', 'reseller', 'customer'], true)) {
            throw new InvalidArgumentException("Unknown role \"{$role}\".");
        }
        $this->login = (string) $login;
        $this->userId = (string) $userId;
        $this->role = $role;
    }

    /** @param pm_Client $client */
    public static function fromClient($client)
    {
        if ($client->isAdmin()) {
            $role = 'admin';
        } elseif ($client->isReseller()) {
            $role = 'reseller';
        } else {
            $role = 'customer';
        }
        return new self($client->getLogin(), (string) $client->getId(), $role);
    }

    /** Plesk itself (event listener, resync, install): administrator rights, named so the audit log shows it. */
    public static function integration()
    {
        return new self(self::INTEGRATION_LOGIN, self::INTEGRATION_USER_ID, 'admin');
    }
}
