<?php
/**
 * Stand-in for Plesk's XML API as pm_ApiRpc reaches it: the request packets the extension sends are checked
 * against Plesk's published schema (plesk/api-schemas 1.6.9.1: element names, nesting and order of the parts it
 * uses) and answered in the documented response shapes (packet/<operator>/<operation>/result with status,
 * errcode/errtext on error, packet/system for a request Plesk cannot parse). A packet it does not know fails the
 * test instead of getting a made-up answer.
 *
 * The server it answers for: domains are pm_Domain::$all, mail accounts pm_Bootstrap::$mail (id => name,
 * domainId, limit), the rest the static state below. With $stateFile set (the install tests), the state is read
 * from and written to that JSON file around every call, so that the `plesk` command stand-in
 * (packaging/test-support/plesk) serves and changes the same server.
 */
class pm_ApiRpc
{
    /** @var array<string, string> server preferences (Plesk's ints, written as text; a missing one is left out) */
    public static $server = [];
    /** @var array<string, string> installed components: name => version */
    public static $components = [];
    /** @var array<string, array{id: int, name: string, owner: string, mbox: string, domain: string, subscription: string}> service plans by guid */
    public static $plans = [];
    /** @var array<int, string> the service plan (guid) of each subscription, by its main domain's id */
    public static $subscriptionPlans = [];
    /** @var array<int, array<string, string>> values customized on a subscription (mbox, domain, subscription) */
    public static $subscriptionLimits = [];
    /** @var array<int, string> each domain's own limit, by domain id */
    public static $domainLimits = [];
    /** @var string|null when set, every call answers packet/system with this errtext (e.g. the API switched off) */
    public static $systemError = null;
    /** @var string[] every request packet, in order */
    public static $requests = [];
    /** @var string|null */
    public static $stateFile = null;

    public static function reset()
    {
        // The defaults are optional elements of serverPrefs: left out until a test sets them.
        self::$server = ['outgoing_antispam' => 'false'];
        self::$components = ['postfix' => '3.7.11-0+deb12u1', 'dovecot' => '2.3.19.1', 'qmail' => ''];
        self::$plans = [];
        self::$subscriptionPlans = [];
        self::$subscriptionLimits = [];
        self::$domainLimits = [];
        self::$systemError = null;
        self::$requests = [];
    }

    /** @return pm_ApiRpc */
    public static function getService($protocolVersion = null)
    {
        return new self();
    }

    /**
     * @param string|SimpleXMLElement|DOMDocument $request
     * @return SimpleXMLElement the response packet
     */
    public function call($request, $login = null)
    {
        if ($request instanceof DOMDocument) {
            $request = $request->saveXML();
        } elseif ($request instanceof SimpleXMLElement) {
            $request = $request->asXML();
        }
        self::$requests[] = (string) $request;
        self::load();
        if (self::$systemError !== null) {
            return self::systemError(1006, self::$systemError);
        }
        $packet = @simplexml_load_string((string) $request);
        if ($packet === false || $packet->getName() !== 'packet' || count($packet->children()) !== 1) {
            return self::systemError(1014, 'Parser error: Request is invalid.');
        }
        $operator = $packet->children()[0];
        if (count($operator->children()) !== 1) {
            return self::systemError(1014, 'Parser error: one operation per operator in this stand-in.');
        }
        $operation = $operator->children()[0];
        $handler = [
            'server/get' => 'serverGet',
            'webspace/get' => 'webspaceGet',
            'site/get' => 'siteGet',
            'mail/get_info' => 'mailGetInfo',
            'service-plan/get' => 'planGet',
            'webspace/set' => 'webspaceSet',
            'site/set' => 'siteSet',
        ];
        $key = $operator->getName() . '/' . $operation->getName();
        if (!isset($handler[$key])) {
            throw new LogicException("The XML API stand-in does not answer {$key}.");
        }
        $results = $this->{$handler[$key]}($operation);
        self::save();
        $xml = '<?xml version="1.0" encoding="UTF-8"?><packet version="1.6.9.1"><' . $operator->getName() . '><' . $operation->getName() . '>' . implode('', $results) . '</' . $operation->getName() . '></' . $operator->getName() . '></packet>';
        return new SimpleXMLElement($xml);
    }

    private function serverGet(SimpleXMLElement $get)
    {
        self::order($get, ['key', 'gen_info', 'components', 'stat', 'admin', 'interfaces', 'services_state', 'prefs', 'shells', 'session_setup', 'site-isolation-config', 'updates', 'admin-domain-list', 'certificates'], ['components', 'prefs']);
        $xml = '<result><status>ok</status>';
        if (isset($get->components)) {
            $xml .= '<components>';
            foreach (self::$components as $name => $version) {
                $xml .= '<component><name>' . self::x($name) . '</name><version>' . self::x($version) . '</version></component>';
            }
            $xml .= '</components>';
        }
        if (isset($get->prefs)) {
            $xml .= '<prefs><max_connections>100</max_connections><outgoing_email_mode>domain-ip</outgoing_email_mode>';
            foreach (['outgoing_antispam', 'outgoing_messages_mbox_limit', 'outgoing_messages_domain_limit', 'outgoing_messages_subscription_limit'] as $name) {
                if (isset(self::$server[$name])) {
                    $xml .= "<{$name}>" . self::x(self::$server[$name]) . "</{$name}>";
                }
            }
            $xml .= '<enable_sendmail>true</enable_sendmail><stat_ttl>3</stat_ttl></prefs>';
        }
        return [$xml . '</result>'];
    }

    private function webspaceGet(SimpleXMLElement $get)
    {
        self::order($get, ['filter', 'dataset'], ['filter', 'dataset']);
        self::order($get->dataset, ['gen_info', 'hosting', 'hosting-basic', 'limits', 'stat', 'prefs', 'disk_usage', 'performance', 'subscriptions', 'permissions', 'plan-items', 'php-settings', 'resource-usage', 'mail', 'aps-filter', 'packages'], ['gen_info', 'prefs', 'subscriptions', 'mail']);
        $results = [];
        foreach (self::filtered($get->filter, pm_Domain::getAllDomains(true)) as $match) {
            list($filterId, $domain) = $match;
            if ($domain === null) {
                $results[] = self::error(1013, 'Webspace does not exist', $filterId);
                continue;
            }
            $id = (int) $domain->getId();
            $data = '';
            if (isset($get->dataset->gen_info)) {
                $data .= self::genInfo($domain) . '';
            }
            if (isset($get->dataset->prefs)) {
                $data .= '<prefs><www>true</www><stat_ttl>3</stat_ttl><outgoing-messages-domain-limit>' . self::x(self::domainLimit($id)) . '</outgoing-messages-domain-limit></prefs>';
            }
            if (isset($get->dataset->subscriptions)) {
                $data .= '<subscriptions>';
                if (isset(self::$subscriptionPlans[$id])) {
                    $data .= '<subscription><locked>false</locked><synchronized>true</synchronized><plan><plan-guid>' . self::x(self::$subscriptionPlans[$id]) . '</plan-guid></plan></subscription>';
                }
                $data .= '</subscriptions>';
            }
            if (isset($get->dataset->mail)) {
                $data .= '<mail><nonexistent-user><bounce>No such user</bounce></nonexistent-user><webmail>roundcube</webmail><spam-protect-sign>false</spam-protect-sign><greylisting>true</greylisting><mailservice>true</mailservice>';
                foreach (['mbox', 'domain', 'subscription'] as $level) {
                    $data .= "<outgoing-messages-{$level}-limit>" . self::x(self::subscriptionValue($id, $level)) . "</outgoing-messages-{$level}-limit>";
                }
                $data .= '<outgoing-messages-enable-sendmail>default</outgoing-messages-enable-sendmail></mail>';
            }
            $results[] = '<result><status>ok</status>' . ($filterId === null ? '' : '<filter-id>' . self::x($filterId) . '</filter-id>') . "<id>{$id}</id><data>{$data}</data></result>";
        }
        return $results;
    }

    private function siteGet(SimpleXMLElement $get)
    {
        self::order($get, ['filter', 'dataset'], ['filter', 'dataset']);
        self::order($get->dataset, ['gen_info', 'hosting', 'stat', 'prefs', 'disk_usage', 'performance'], ['gen_info', 'prefs']);
        $sites = array_values(array_filter(pm_Domain::getAllDomains(), function ($d) {
            return (int) $d->getProperty('webspace_id') !== 0;
        }));
        $results = [];
        foreach (self::filtered($get->filter, $sites) as $match) {
            list($filterId, $domain) = $match;
            if ($domain === null) {
                $results[] = self::error(1013, 'Site does not exist', $filterId);
                continue;
            }
            $id = (int) $domain->getId();
            $data = '';
            if (isset($get->dataset->gen_info)) {
                $data .= '<gen_info><cr_date>2026-01-05</cr_date><name>' . self::x($domain->getDisplayName()) . '</name><ascii-name>' . self::x($domain->getName()) . '</ascii-name><status>0</status><real_size>0</real_size><dns_ip_address>192.0.2.10</dns_ip_address><htype>vrt_hst</htype><guid>site-' . $id . '</guid><webspace-guid>webspace-' . (int) $domain->getProperty('webspace_id') . '</webspace-guid><webspace-id>' . (int) $domain->getProperty('webspace_id') . '</webspace-id></gen_info>';
            }
            if (isset($get->dataset->prefs)) {
                $data .= '<prefs><www>true</www><stat_ttl>3</stat_ttl><outgoing-messages-domain-limit>' . self::x(self::domainLimit($id)) . '</outgoing-messages-domain-limit></prefs>';
            }
            $results[] = '<result><status>ok</status>' . ($filterId === null ? '' : '<filter-id>' . self::x($filterId) . '</filter-id>') . "<id>{$id}</id><data>{$data}</data></result>";
        }
        return $results;
    }

    private function mailGetInfo(SimpleXMLElement $getInfo)
    {
        self::order($getInfo, ['filter', 'mailbox', 'mailbox-usage', 'forwarding', 'aliases', 'autoresponder'], ['filter']);
        self::order($getInfo->filter, ['site-id', 'name'], ['site-id']);
        if (count($getInfo->filter->{'site-id'}) !== 1) {
            return [self::error(1014, 'Parser error: filter/site-id is required once')];
        }
        $siteId = (int) $getInfo->filter->{'site-id'};
        if (!isset(pm_Domain::$all[$siteId])) {
            return [self::error(1013, 'Site does not exist')];
        }
        $results = [];
        foreach (pm_Bootstrap::$mail as $id => $mail) {
            if ((int) $mail['domainId'] === $siteId) {
                $results[] = '<result><status>ok</status><mailname><id>' . (int) $id . '</id><name>' . self::x($mail['name']) . '</name><password><value/><type>plain</type></password><user-guid>mail-' . (int) $id . '</user-guid><outgoing-messages-mbox-limit>' . self::x(isset($mail['limit']) ? $mail['limit'] : 'default') . '</outgoing-messages-mbox-limit></mailname></result>';
            }
        }
        // A domain without mail accounts answers one result without mailname.
        return $results ?: ['<result><status>ok</status></result>'];
    }

    private function planGet(SimpleXMLElement $get)
    {
        self::order($get, ['filter', 'owner-id', 'owner-login', 'owner-all'], ['filter', 'owner-all', 'owner-login']);
        if (count($get->filter->children()) !== 0) {
            throw new LogicException('The XML API stand-in answers service-plan get for every plan only (empty filter).');
        }
        $results = [];
        foreach (self::$plans as $guid => $plan) {
            $owner = isset($plan['owner']) ? $plan['owner'] : 'admin';
            if (!isset($get->{'owner-all'}) && $owner !== (isset($get->{'owner-login'}) ? (string) $get->{'owner-login'} : 'admin')) {
                continue;
            }
            $mail = '<mail><nonexistent-user><bounce>No such user</bounce></nonexistent-user><webmail>roundcube</webmail>';
            foreach (['mbox', 'domain', 'subscription'] as $level) {
                $mail .= "<outgoing-messages-{$level}-limit>" . self::x($plan[$level]) . "</outgoing-messages-{$level}-limit>";
            }
            $mail .= '<outgoing-messages-enable-sendmail>default</outgoing-messages-enable-sendmail></mail>';
            $results[] = '<result><status>ok</status><id>' . (int) $plan['id'] . '</id><name>' . self::x($plan['name']) . '</name><guid>' . self::x($guid) . '</guid><external-id/>' . $mail . '</result>';
        }
        return $results;
    }

    private function webspaceSet(SimpleXMLElement $set)
    {
        self::order($set, ['filter', 'values'], ['filter', 'values']);
        self::order($set->values, ['gen_setup', 'limits', 'prefs', 'hosting', 'disk_usage', 'performance', 'permissions', 'php-settings', 'mail'], ['prefs', 'mail']);
        return $this->setValues($set, pm_Domain::getAllDomains(true), 'Webspace');
    }

    private function siteSet(SimpleXMLElement $set)
    {
        self::order($set, ['filter', 'values'], ['filter', 'values']);
        self::order($set->values, ['gen_setup', 'hosting', 'prefs'], ['prefs']);
        $sites = array_values(array_filter(pm_Domain::getAllDomains(), function ($d) {
            return (int) $d->getProperty('webspace_id') !== 0;
        }));
        return $this->setValues($set, $sites, 'Site');
    }

    private function setValues(SimpleXMLElement $set, array $domains, $kind)
    {
        $results = [];
        foreach (self::filtered($set->filter, $domains) as $match) {
            list($filterId, $domain) = $match;
            if ($domain === null) {
                $results[] = self::error(1013, "{$kind} does not exist", $filterId);
                continue;
            }
            $id = (int) $domain->getId();
            $changes = [];
            if (isset($set->values->prefs)) {
                self::order($set->values->prefs, ['www', 'stat_ttl', 'outgoing-messages-domain-limit', 'icp-status', 'icp-permit'], ['outgoing-messages-domain-limit']);
                $changes[] = ['domain', (string) $set->values->prefs->{'outgoing-messages-domain-limit'}];
            }
            if (isset($set->values->mail)) {
                self::order($set->values->mail, ['nonexistent-user', 'webmail', 'spam-protect-sign', 'greylisting', 'mailservice', 'ip_address', 'mail-provider', 'webmail-certificate', 'outgoing-messages-mbox-limit', 'outgoing-messages-domain-limit', 'outgoing-messages-subscription-limit', 'outgoing-messages-enable-sendmail', 'outgoing-messages-overlimit-percent'], ['outgoing-messages-subscription-limit']);
                $changes[] = ['subscription', (string) $set->values->mail->{'outgoing-messages-subscription-limit'}];
            }
            foreach ($changes as $change) {
                if (!preg_match('/^(-1|\d+|default|unlimited)$/', $change[1])) {
                    $results[] = self::error(1019, "Invalid value of outgoing-messages-{$change[0]}-limit: \"{$change[1]}\"", $filterId);
                    continue 2;
                }
            }
            foreach ($changes as $change) {
                if ($change[0] === 'domain') {
                    self::$domainLimits[$id] = $change[1];
                } else {
                    self::$subscriptionLimits[$id]['subscription'] = $change[1];
                }
            }
            $results[] = '<result><status>ok</status>' . ($filterId === null ? '' : '<filter-id>' . self::x($filterId) . '</filter-id>') . "<id>{$id}</id></result>";
        }
        return $results;
    }

    /** The value a subscription has at a level: customized on it, else copied from its plan, else "default". */
    public static function subscriptionValue($id, $level)
    {
        if (isset(self::$subscriptionLimits[$id][$level])) {
            return self::$subscriptionLimits[$id][$level];
        }
        if (isset(self::$subscriptionPlans[$id], self::$plans[self::$subscriptionPlans[$id]])) {
            return self::$plans[self::$subscriptionPlans[$id]][$level];
        }
        return 'default';
    }

    public static function domainLimit($id)
    {
        return isset(self::$domainLimits[$id]) ? self::$domainLimits[$id] : 'default';
    }

    private static function genInfo(pm_Domain $domain)
    {
        return '<gen_info><cr_date>2026-01-05</cr_date><name>' . self::x($domain->getDisplayName()) . '</name><ascii-name>' . self::x($domain->getName()) . '</ascii-name><status>0</status><real_size>0</real_size><owner-id>' . (int) $domain->getProperty('cl_id') . '</owner-id><dns_ip_address>192.0.2.10</dns_ip_address><htype>vrt_hst</htype><guid>webspace-' . (int) $domain->getId() . '</guid><vendor-guid>admin</vendor-guid><external-id/></gen_info>';
    }

    /**
     * The domains a filter picks, as [filter-id or null, domain or null when missing]: empty filter all of them,
     * else by id or by name (display or ASCII), each in the order given.
     */
    private static function filtered(SimpleXMLElement $filter, array $domains)
    {
        $children = $filter->children();
        if (count($children) === 0) {
            return array_map(function ($d) {
                return [null, $d];
            }, $domains);
        }
        $matches = [];
        foreach ($children as $criterion) {
            if (!in_array($criterion->getName(), ['id', 'name'], true)) {
                throw new LogicException("The XML API stand-in filters by id or name only, not {$criterion->getName()}.");
            }
            $wanted = (string) $criterion;
            $found = null;
            foreach ($domains as $domain) {
                if ($criterion->getName() === 'id' ? (int) $domain->getId() === (int) $wanted : in_array($wanted, [$domain->getName(), $domain->getDisplayName()], true)) {
                    $found = $domain;
                }
            }
            $matches[] = [$wanted, $found];
        }
        return $matches;
    }

    /**
     * Plesk's parser refuses elements out of the schema's order or unknown to it; the stand-in also refuses the
     * ones it does not answer (so a test cannot pass on an answer Plesk would shape differently).
     */
    private static function order(SimpleXMLElement $parent, array $schemaOrder, array $answered)
    {
        $last = -1;
        foreach ($parent->children() as $child) {
            $at = array_search($child->getName(), $schemaOrder, true);
            if ($at === false || $at < $last) {
                throw new LogicException("Plesk would refuse this packet: <{$child->getName()}> is not expected in <{$parent->getName()}> here (schema order: " . implode(', ', $schemaOrder) . ').');
            }
            if (!in_array($child->getName(), $answered, true)) {
                throw new LogicException("The XML API stand-in does not answer <{$child->getName()}> in <{$parent->getName()}>.");
            }
            $last = $at;
        }
    }

    private static function error($code, $text, $filterId = null)
    {
        return '<result><status>error</status><errcode>' . (int) $code . '</errcode><errtext>' . self::x($text) . '</errtext>' . ($filterId === null ? '' : '<filter-id>' . self::x($filterId) . '</filter-id>') . '</result>';
    }

    private static function systemError($code, $text)
    {
        return new SimpleXMLElement('<?xml version="1.0" encoding="UTF-8"?><packet version="1.6.9.1"><system><status>error</status><errcode>' . (int) $code . '</errcode><errtext>' . self::x($text) . '</errtext></system></packet>');
    }

    private static function x($text)
    {
        return htmlspecialchars((string) $text, ENT_XML1 | ENT_QUOTES, 'UTF-8');
    }

    /** Reads the shared state file (install tests): the server, its domains and mail accounts. */
    public static function load()
    {
        if (self::$stateFile === null) {
            return;
        }
        $state = json_decode((string) file_get_contents(self::$stateFile), true);
        if (!is_array($state)) {
            throw new LogicException('Unreadable stand-in state ' . self::$stateFile);
        }
        self::reset();
        self::$systemError = isset($state['systemError']) ? $state['systemError'] : null;
        foreach (['server', 'components', 'plans', 'subscriptionPlans', 'subscriptionLimits', 'domainLimits'] as $part) {
            if (isset($state[$part])) {
                self::${$part} = $part === 'server' ? $state[$part] + self::$server : $state[$part];
            }
        }
        pm_Domain::$all = [];
        foreach ((array) (isset($state['domains']) ? $state['domains'] : []) as $id => $domain) {
            new pm_Domain((int) $id, $domain['name'], (int) $domain['client'], (int) $domain['webspace'], isset($domain['sysUser']) ? $domain['sysUser'] : null);
        }
        pm_Bootstrap::$mail = [];
        foreach ((array) (isset($state['mail']) ? $state['mail'] : []) as $id => $mail) {
            pm_Bootstrap::$mail[(int) $id] = $mail;
        }
    }

    public static function save()
    {
        if (self::$stateFile === null) {
            return;
        }
        $state = json_decode((string) file_get_contents(self::$stateFile), true);
        foreach (['server', 'components', 'plans', 'subscriptionPlans', 'subscriptionLimits', 'domainLimits'] as $part) {
            $state[$part] = (object) self::${$part};
        }
        $state['mail'] = (object) pm_Bootstrap::$mail;
        file_put_contents(self::$stateFile, json_encode($state, JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES));
    }
}

pm_ApiRpc::reset();
