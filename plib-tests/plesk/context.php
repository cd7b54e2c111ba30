<?php
// Stand-ins for the parts of Plesk's extension SDK (pm_*) and Zend that the extension uses. Only their
// behaviour as the extension relies on it; tests set the state (who is signed in, which domains exist).

class pm_Exception extends Exception
{
}

class pm_Context
{
    public static $id = null;
    public static $varDir = '/tmp/oml-var';
    public static $plibDir = null;
    public static $htdocsDir = null;

    public static function init($id)
    {
        self::$id = $id;
    }

    public static function getVarDir()
    {
        return rtrim(self::$varDir, '/') . '/';
    }

    public static function getPlibDir()
    {
        return rtrim(self::$plibDir ?: dirname(__DIR__, 2) . '/plib', '/') . '/';
    }

    public static function getHtdocsDir()
    {
        return rtrim(self::$htdocsDir ?: dirname(__DIR__, 2) . '/htdocs', '/') . '/';
    }

    public static function getBaseUrl()
    {
        return '/modules/outgoing-mail-limits/';
    }

    public static function getActionUrl($controller, $action = 'index')
    {
        return self::getBaseUrl() . 'index.php/' . $controller . '/' . $action;
    }
}

class pm_Locale
{
    /** The locale of the person looking (Plesk's interface language); tests set it. */
    public static $code = 'en-US';
    private static $messages = null;
    private static $messagesOf = null;

    public static function getCode()
    {
        return self::$code;
    }

    public static function lmsg($key, array $params = [])
    {
        if (self::$messages === null || self::$messagesOf !== self::$code) {
            // Like Plesk: the locale's file over en-US's, so a key the locale lacks still has its en-US text.
            $messages = [];
            include pm_Context::getPlibDir() . 'resources/locales/en-US.php';
            $english = $messages;
            $messages = [];
            $file = pm_Context::getPlibDir() . 'resources/locales/' . self::$code . '.php';
            if (self::$code !== 'en-US' && is_file($file)) {
                include $file;
            }
            self::$messages = array_merge($english, $messages);
            self::$messagesOf = self::$code;
        }
        if (!isset(self::$messages[$key])) {
            throw new LogicException("No locale message \"{$key}\".");
        }
        $text = self::$messages[$key];
        foreach ($params as $name => $value) {
            $text = str_replace("%%{$name}%%", $value, $text);
        }
        return $text;
    }
}

class pm_Log
{
    public static $lines = [];

    public static function err($message)
    {
        self::$lines[] = $message;
    }

    public static function warn($message)
    {
        self::$lines[] = $message;
    }
}

class pm_Settings
{
    public static $values = [];

    public static function get($name, $default = null)
    {
        return array_key_exists($name, self::$values) ? self::$values[$name] : $default;
    }

    public static function set($name, $value)
    {
        self::$values[$name] = $value;
    }
}

/** Plesk's users: admin, resellers and customers, with the domains each may reach. */
class pm_Client
{
    /** @var pm_Client[] */
    public static $all = [];

    private $id;
    private $login;
    private $type;
    private $parentId;
    /** @var string the contact e-mail address (Plesk keeps '' when there is none) */
    public $email;
    /**
     * Extension permissions switched off, by permission and subscription (main domain) id; everything else is on,
     * as the Permissions hook's default says: [$name => [$subscriptionId => false]].
     * @var array<string, array<int, bool>>
     */
    public $permissions = [];

    public function __construct($id, $login, $type, $parentId = 0, $email = '')
    {
        $this->id = $id;
        $this->login = $login;
        $this->type = $type;
        $this->parentId = $parentId;
        $this->email = $email;
        self::$all[$id] = $this;
    }

    /** @since Plesk 17.8.4 */
    public static function getAll()
    {
        return array_values(self::$all);
    }

    public static function getByClientId($id)
    {
        if (!isset(self::$all[$id])) {
            throw new pm_Exception("Client {$id} does not exist.");
        }
        return self::$all[$id];
    }

    public function getId()
    {
        return $this->id;
    }

    public function getLogin()
    {
        return $this->login;
    }

    public function isAdmin()
    {
        return $this->type === 'admin';
    }

    public function isReseller()
    {
        return $this->type === 'reseller';
    }

    public function isClient()
    {
        return $this->type === 'client';
    }

    /** Columns of Plesk's clients table, as strings (the ones the extension reads). */
    public function getProperty($name)
    {
        switch ($name) {
            case 'parent_id':
                return (string) $this->parentId;
            case 'email':
                return (string) $this->email;
            case 'login':
                return $this->login;
        }
        throw new LogicException("The stand-in client has no property \"{$name}\".");
    }

    /** As in Plesk: the admin reaches every domain, a reseller its customers' and its own, a customer its own. */
    public function hasAccessToDomain($domainId)
    {
        if (!isset(pm_Domain::$all[$domainId])) {
            return false;
        }
        $owner = pm_Domain::$all[$domainId]->getClient();
        if ($this->isAdmin()) {
            return true;
        }
        if ($this->isReseller()) {
            return $owner->getId() === $this->id || (int) $owner->getProperty('parent_id') === $this->id;
        }
        return $owner->getId() === $this->id;
    }

    /**
     * A customer's permissions belong to its subscriptions (the plan's, or customized on the subscription): an
     * add-on domain answers with its subscription's. The domain is optional in Plesk 18; the extension always
     * passes one, and the stand-in does not guess what Plesk answers without it.
     */
    public function hasPermission($name, pm_Domain $domain = null)
    {
        if ($domain === null) {
            throw new LogicException('The stand-in needs the domain to answer hasPermission.');
        }
        if (!$this->isClient()) {
            return true;
        }
        $webspaceId = (int) $domain->getProperty('webspace_id');
        $subscriptionId = $webspaceId === 0 ? (int) $domain->getId() : $webspaceId;
        return !isset($this->permissions[$name][$subscriptionId]) || $this->permissions[$name][$subscriptionId];
    }
}

class pm_Session
{
    /** @var pm_Client|null */
    public static $client = null;

    public static function getClient()
    {
        if (self::$client === null) {
            throw new pm_Exception('Nobody is signed in.');
        }
        return self::$client;
    }
}

/** Domains: a subscription's main domain has webspace id 0, its add-on domains the main domain's id. */
class pm_Domain
{
    /** @var pm_Domain[] */
    public static $all = [];

    private $id;
    private $name;
    private $clientId;
    private $webspaceId;
    private $sysUser;
    /** @var string the name Plesk shows: Unicode for an internationalized domain, whose name is ASCII (punycode) */
    private $displayName;

    public function __construct($id, $name, $clientId, $webspaceId = 0, $sysUser = null, $displayName = null)
    {
        $this->displayName = $displayName === null ? $name : $displayName;
        $this->id = $id;
        $this->name = $name;
        $this->clientId = $clientId;
        $this->webspaceId = $webspaceId;
        $this->sysUser = $sysUser;
        self::$all[$id] = $this;
    }

    public static function getByDomainId($id)
    {
        if (!isset(self::$all[$id])) {
            throw new pm_Exception("Domain {$id} does not exist.");
        }
        return self::$all[$id];
    }

    /** By display name, as Plesk's SDK says. */
    public static function getByName($name)
    {
        foreach (self::$all as $domain) {
            if ($domain->displayName === $name) {
                return $domain;
            }
        }
        throw new pm_Exception("Domain {$name} does not exist.");
    }

    public static function getAllDomains($mainDomainsOnly = false)
    {
        return array_values(array_filter(self::$all, function ($d) use ($mainDomainsOnly) {
            return !$mainDomainsOnly || $d->webspaceId === 0;
        }));
    }

    /** The domains the client owns (with $mainDomainsOnly: its subscriptions' main domains). */
    public static function getDomainsByClient(pm_Client $client, $mainDomainsOnly = false)
    {
        return array_values(array_filter(self::getAllDomains($mainDomainsOnly), function ($d) use ($client) {
            return $d->clientId === $client->getId();
        }));
    }

    public function getId()
    {
        return $this->id;
    }

    public function getDisplayName()
    {
        return $this->displayName;
    }

    public function getName()
    {
        return $this->name;
    }

    public function getClient()
    {
        return pm_Client::getByClientId($this->clientId);
    }

    /** Columns of Plesk's domains table, as strings; webspace_id is 0 for a subscription's main domain. */
    public function getProperty($name)
    {
        switch ($name) {
            case 'webspace_id':
                return (string) $this->webspaceId;
            case 'cl_id':
                return (string) $this->clientId;
        }
        throw new pm_Exception("Unknown domain property \"{$name}\".");
    }

    public function hasHosting()
    {
        return $this->sysUser !== null;
    }

    public function getSysUserLogin()
    {
        return $this->sysUser;
    }
}

/**
 * Not Plesk's database (the extension reads none of its tables): only where the stand-in server keeps its mail
 * accounts, [id => {name, domainId, limit}] (limit: the outgoing-messages-mbox-limit Plesk answers, "default"
 * when left out), answered through the XML API stand-in (apirpc.php).
 */
class pm_Bootstrap
{
    /** @var array<int, array{name: string, domainId: int, limit?: string}> */
    public static $mail = [];
}
