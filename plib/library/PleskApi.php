<?php
/**
 * Plesk's XML API (API-RPC) through pm_ApiRpc, for the outgoing mail values Plesk keeps: the server's switch and
 * defaults, each subscription's, domain's and mailbox's own value, each service plan's values, and which mail
 * server Plesk runs. Element names and nesting are those of Plesk's published schema (plesk/api-schemas,
 * 1.6.9.1 agent_input.svg / agent_output.svg); see plib/README.md for each packet.
 *
 * Values come back as Plesk writes them (strings); Modules_OutgoingMailLimits_PleskLimitValue maps them.
 */
class Modules_OutgoingMailLimits_PleskApi
{
    /** @var callable(string):SimpleXMLElement */
    private $call;

    /** @param callable(string):SimpleXMLElement|null $call sends one request packet, answers the response packet */
    public function __construct(callable $call = null)
    {
        $this->call = $call ?: function ($packet) {
            return pm_ApiRpc::getService()->call($packet);
        };
    }

    /**
     * Server preferences and installed components in one packet: the switch, the three defaults (ints, -1 for
     * unlimited) and the mail server components Plesk reports.
     * @return array{outgoing_antispam: string, outgoing_messages_mbox_limit: ?string, outgoing_messages_domain_limit: ?string, outgoing_messages_subscription_limit: ?string, components: array<string, string>}
     */
    public function server()
    {
        $result = $this->single($this->send('<server><get><components/><prefs/></get></server>'), 'server', 'get');
        $prefs = $result->prefs;
        $server = ['outgoing_antispam' => in_array(self::text($prefs, 'outgoing_antispam'), ['true', '1'], true) ? 'true' : 'false'];
        foreach (['mbox', 'domain', 'subscription'] as $level) {
            $server["outgoing_messages_{$level}_limit"] = self::text($prefs, "outgoing_messages_{$level}_limit");
        }
        $components = [];
        if (isset($result->components->component)) {
            foreach ($result->components->component as $component) {
                $components[strtolower((string) $component->name)] = (string) $component->version;
            }
        }
        $server['components'] = $components;
        return $server;
    }

    /**
     * Every subscription (webspace): [id => {name (ASCII), planGuids, subscriptionLimit, domainLimit}], the limits
     * as Plesk writes them (null when the element is absent). With $id, only that subscription (by its main
     * domain's id).
     */
    public function subscriptions($id = null)
    {
        $filter = $id === null ? '<filter/>' : '<filter><id>' . (int) $id . '</id></filter>';
        $answer = $this->send('<webspace><get>' . $filter . '<dataset><gen_info/><prefs/><subscriptions/><mail/></dataset></get></webspace>');
        $subscriptions = [];
        foreach ($this->results($answer, 'webspace', 'get') as $result) {
            $data = $result->data;
            $guids = [];
            if (isset($data->subscriptions->subscription)) {
                foreach ($data->subscriptions->subscription->plan as $plan) {
                    $guids[] = (string) $plan->{'plan-guid'};
                }
            }
            $subscriptions[(int) $result->id] = [
                'name' => self::asciiName($data->gen_info),
                'planGuids' => $guids,
                'subscriptionLimit' => self::text($data->mail, 'outgoing-messages-subscription-limit'),
                'domainLimit' => self::text($data->prefs, 'outgoing-messages-domain-limit'),
            ];
        }
        return $subscriptions;
    }

    /** Every add-on domain (site), or with $id that one: [id => {name (ASCII), webspaceId, domainLimit}]. */
    public function sites($id = null)
    {
        $filter = $id === null ? '<filter/>' : '<filter><id>' . (int) $id . '</id></filter>';
        $answer = $this->send('<site><get>' . $filter . '<dataset><gen_info/><prefs/></dataset></get></site>');
        $sites = [];
        foreach ($this->results($answer, 'site', 'get') as $result) {
            $sites[(int) $result->id] = [
                'name' => self::asciiName($result->data->gen_info),
                'webspaceId' => (int) $result->data->gen_info->{'webspace-id'},
                'domainLimit' => self::text($result->data->prefs, 'outgoing-messages-domain-limit'),
            ];
        }
        return $sites;
    }

    /** The mail accounts of one domain (main or add-on, by its id): [id => {name (local part), limit}]. */
    public function mailboxes($domainId)
    {
        $answer = $this->send('<mail><get_info><filter><site-id>' . (int) $domainId . '</site-id></filter></get_info></mail>');
        $mailboxes = [];
        foreach ($this->results($answer, 'mail', 'get_info') as $result) {
            if (isset($result->mailname)) {
                $mailboxes[(int) $result->mailname->id] = [
                    'name' => strtolower((string) $result->mailname->name),
                    'limit' => self::text($result->mailname, 'outgoing-messages-mbox-limit'),
                ];
            }
        }
        return $mailboxes;
    }

    /**
     * Every service plan of the admin and the resellers: [guid => {id, name, mbox, domain, subscription}]. Add-on
     * plans are not service plans (operator service-plan-addon) and never come.
     */
    public function servicePlans()
    {
        $answer = $this->send('<service-plan><get><filter/><owner-all/></get></service-plan>');
        $plans = [];
        foreach ($this->results($answer, 'service-plan', 'get') as $result) {
            $plan = ['id' => (int) $result->id, 'name' => (string) $result->name];
            foreach (['mbox', 'domain', 'subscription'] as $level) {
                $plan[$level] = self::text($result->mail, "outgoing-messages-{$level}-limit");
            }
            $plans[(string) $result->guid] = $plan;
        }
        return $plans;
    }

    /** Sets a subscription's own value (webspace set, mail preferences). */
    public function setSubscriptionLimit($name, $value)
    {
        $this->single($this->send('<webspace><set><filter><name>' . self::xml($name) . '</name></filter><values><mail><outgoing-messages-subscription-limit>' . self::xml($value) . '</outgoing-messages-subscription-limit></mail></values></set></webspace>'), 'webspace', 'set');
    }

    /** Sets a domain's own value: a subscription's main domain through webspace set, an add-on domain through site set. */
    public function setDomainLimit($name, $value, $isMainDomain)
    {
        $operator = $isMainDomain ? 'webspace' : 'site';
        $this->single($this->send("<{$operator}><set><filter><name>" . self::xml($name) . '</name></filter><values><prefs><outgoing-messages-domain-limit>' . self::xml($value) . "</outgoing-messages-domain-limit></prefs></values></set></{$operator}>"), $operator, 'set');
    }

    private function send($operation)
    {
        $answer = call_user_func($this->call, '<packet>' . $operation . '</packet>');
        if (!$answer instanceof SimpleXMLElement) {
            throw new RuntimeException('Plesk\'s XML API gave no answer.');
        }
        if (isset($answer->system)) {
            throw new RuntimeException('Plesk\'s XML API refused the request: ' . self::errorOf($answer->system));
        }
        return $answer;
    }

    /** The results of one operation; any result with status error is an error naming Plesk's own message. */
    private function results(SimpleXMLElement $answer, $operator, $operation)
    {
        if (!isset($answer->{$operator}->{$operation})) {
            throw new RuntimeException("Plesk's XML API answered without {$operator}/{$operation}.");
        }
        $results = [];
        foreach ($answer->{$operator}->{$operation}->result as $result) {
            if ((string) $result->status !== 'ok') {
                throw new RuntimeException("Plesk's XML API {$operator} {$operation} failed: " . self::errorOf($result));
            }
            $results[] = $result;
        }
        return $results;
    }

    private function single(SimpleXMLElement $answer, $operator, $operation)
    {
        $results = $this->results($answer, $operator, $operation);
        if (!$results) {
            throw new RuntimeException("Plesk's XML API {$operator} {$operation} gave no result.");
        }
        return $results[0];
    }

    private static function errorOf(SimpleXMLElement $result)
    {
        return trim((string) $result->errcode . ' ' . (string) $result->errtext);
    }

    /** The text of $parent's child $name, or null when Plesk left it out. */
    private static function text(SimpleXMLElement $parent, $name)
    {
        return isset($parent->{$name}) ? trim((string) $parent->{$name}) : null;
    }

    private static function asciiName($genInfo)
    {
        $ascii = trim((string) $genInfo->{'ascii-name'});
        return Modules_OutgoingMailLimits_PleskDirectory::asciiDomain($ascii !== '' ? $ascii : (string) $genInfo->name);
    }

    private static function xml($value)
    {
        return htmlspecialchars((string) $value, ENT_XML1 | ENT_QUOTES, 'UTF-8');
    }
}
