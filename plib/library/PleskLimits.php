<?php
/**
 * Plesk's own outgoing limit values as this product's values (one set of limits, not two):
 * - read: every value Plesk keeps — the server's switch and three defaults, each service plan's three values,
 *   each subscription's, domain's and mailbox's own value — through the XML API (Modules_OutgoingMailLimits_PleskApi);
 * - pickUp: a value that changed in Plesk since it was last seen becomes the bridge's (the server default, or
 *   the object's own limit); at install nothing was seen yet, so every value Plesk has is imported;
 * - giveBack: at uninstall, every value that differs from the bridge's current one is written back to Plesk.
 * Plans are never written: their values are Plesk's and the bridge only reads them (directory sync).
 *
 * Values are compared by meaning (Modules_OutgoingMailLimits_PleskLimitValue): -1 and "unlimited" are the same.
 */
class Modules_OutgoingMailLimits_PleskLimits
{
    /** The values as last seen (flat, see values()); kept in the extension's var directory. */
    const SEEN_FILE = 'plesk-values-seen.json';
    /** The bridge's level → the word Plesk uses in its option and element names. */
    const PLESK_LEVEL = ['mailbox' => 'mbox', 'domain' => 'domain', 'subscription' => 'subscription'];
    const BULK_SIZE = 1000;
    const LIST_PAGE_SIZE = 200;

    /** @var Modules_OutgoingMailLimits_PleskApi */
    private $api;
    /** @var string */
    private $varDir;
    /** @var callable(array):string runs `plesk` with these arguments, answers its output, throws on failure */
    private $plesk;

    public function __construct(Modules_OutgoingMailLimits_PleskApi $api, $varDir, callable $plesk)
    {
        $this->api = $api;
        $this->varDir = rtrim($varDir, '/');
        $this->plesk = $plesk;
    }

    public static function forExtension()
    {
        return new self(new Modules_OutgoingMailLimits_PleskApi(), pm_Context::getVarDir(), [__CLASS__, 'runPlesk']);
    }

    /**
     * Everything Plesk holds, by the bridge's names:
     * server: {outgoing_antispam, outgoing_messages_{mbox,domain,subscription}_limit, components},
     * plans: {guid: {name, mailbox, domain, subscription}} (the bridge's plan body),
     * subscriptions: {name: {id, plan (body or null), own (raw or null)}},
     * domains: {name: {id, subscription, main, own}}, mailboxes: {address: {domain, own}}.
     */
    public function read()
    {
        $server = $this->api->server();
        $plans = $this->plans();
        $subscriptions = [];
        $domains = [];
        $subscriptionNames = [];
        foreach ($this->subscriptionsOf($this->api->subscriptions(), $plans) as $name => $subscription) {
            $subscriptions[$name] = ['id' => $subscription['id'], 'plan' => $subscription['plan'], 'own' => $subscription['own']];
            $domains[$name] = ['id' => $subscription['id'], 'subscription' => $name, 'main' => true, 'own' => $subscription['domainOwn']];
            $subscriptionNames[$subscription['id']] = $name;
        }
        foreach ($this->api->sites() as $id => $site) {
            if (isset($subscriptionNames[$site['webspaceId']])) {
                $domains[$site['name']] = ['id' => $id, 'subscription' => $subscriptionNames[$site['webspaceId']], 'main' => false, 'own' => $site['domainLimit']];
            }
        }
        $mailboxes = [];
        foreach ($domains as $domainName => $domain) {
            foreach ($this->api->mailboxes($domain['id']) as $mailbox) {
                $mailboxes[Modules_OutgoingMailLimits_PleskDirectory::address($mailbox['name'], $domainName)] = ['domain' => $domainName, 'own' => $mailbox['limit']];
            }
        }
        ksort($mailboxes, SORT_STRING);
        return ['server' => $server, 'plans' => $plans, 'subscriptions' => $subscriptions, 'domains' => $domains, 'mailboxes' => $mailboxes];
    }

    /**
     * Every subscription with its plan and the own values of it and its main domain, without add-on domains and
     * mail accounts (two XML API calls, for a plan change): [name => {id, plan, own, domainOwn}].
     */
    public function readSubscriptions()
    {
        return $this->subscriptionsOf($this->api->subscriptions(), $this->plans());
    }

    /**
     * One subscription as Plesk has it now, by its main domain's id: its plan body (or null) and the flat values
     * of the subscription and its main domain.
     */
    public function readSubscription($id)
    {
        foreach ($this->subscriptionsOf($this->api->subscriptions((int) $id), $this->plans()) as $name => $subscription) {
            return ['plan' => $subscription['plan'], 'values' => ["subscription:{$name}" => $subscription['own'], "domain:{$name}" => $subscription['domainOwn']]];
        }
        return ['plan' => null, 'values' => []];
    }

    /** Plesk's service plans as the bridge's plan bodies {name, mailbox, domain, subscription}, by guid. */
    private function plans()
    {
        $plans = [];
        foreach ($this->api->servicePlans() as $guid => $plan) {
            $plans[$guid] = ['name' => $plan['name']];
            foreach (self::PLESK_LEVEL as $level => $word) {
                $plans[$guid][$level] = Modules_OutgoingMailLimits_PleskLimitValue::fromPlesk($plan[$word]);
            }
        }
        return $plans;
    }

    /**
     * Webspaces (PleskApi::subscriptions()) by name with their service plan (the first of their plans that is a
     * service plan; add-on plans are not) and own values. A subscription's own value is its value where it
     * differs from its plan's: Plesk copies the plan's value to every subscription of the plan, so an equal one
     * is the plan's, not the subscription's.
     */
    private function subscriptionsOf(array $webspaces, array $plans)
    {
        $subscriptions = [];
        foreach ($webspaces as $id => $webspace) {
            $plan = null;
            foreach ($webspace['planGuids'] as $guid) {
                if (isset($plans[$guid])) {
                    $plan = $plans[$guid];
                    break;
                }
            }
            $own = $webspace['subscriptionLimit'];
            if ($plan !== null && Modules_OutgoingMailLimits_PleskLimitValue::fromPlesk($own) === $plan['subscription']) {
                $own = null;
            }
            $subscriptions[$webspace['name']] = ['id' => $id, 'plan' => $plan, 'own' => $own, 'domainOwn' => $webspace['domainLimit']];
        }
        return $subscriptions;
    }

    /** The flat value of one add-on domain (by id), or nothing when Plesk has no such site. */
    public function readSite($id)
    {
        $sites = $this->api->sites((int) $id);
        $values = [];
        foreach ($sites as $site) {
            $values["domain:{$site['name']}"] = $site['domainLimit'];
        }
        return $values;
    }

    /** The flat values of every mailbox of one domain (by id and ASCII name). */
    public function readMailboxes($domainId, $domainName)
    {
        $values = [];
        foreach ($this->api->mailboxes((int) $domainId) as $mailbox) {
            $values['mailbox:' . Modules_OutgoingMailLimits_PleskDirectory::address($mailbox['name'], $domainName)] = $mailbox['limit'];
        }
        return $values;
    }

    /** The values of a read() as one flat map: "server:mailbox", "subscription:NAME", "domain:NAME", "mailbox:ADDRESS" → Plesk's raw value. */
    public static function values(array $plesk)
    {
        $values = [];
        foreach (self::PLESK_LEVEL as $level => $word) {
            $values["server:{$level}"] = $plesk['server']["outgoing_messages_{$word}_limit"];
        }
        foreach (['subscriptions' => 'subscription', 'domains' => 'domain', 'mailboxes' => 'mailbox'] as $collection => $level) {
            foreach ($plesk[$collection] as $name => $object) {
                $values["{$level}:{$name}"] = $object['own'];
            }
        }
        return $values;
    }

    /** Values last seen; an empty map before the first import. */
    public function seen()
    {
        $file = $this->varDir . '/' . self::SEEN_FILE;
        $seen = is_file($file) ? json_decode((string) file_get_contents($file), true) : null;
        return is_array($seen) ? $seen : [];
    }

    /**
     * Takes Plesk's values as seen without setting any in the bridge: an upgrade from a version that kept no
     * record of them, where the bridge's values (set here since install) are the ones in force.
     */
    public function rememberAsSeen(array $plesk)
    {
        $this->remember(self::values($plesk));
    }

    /** Forgets the values seen of objects Plesk no longer has (all keys but these). */
    public function forgetAllBut(array $keys)
    {
        $this->remember(array_intersect_key($this->seen(), array_flip($keys)));
    }

    public function hasSeen()
    {
        return is_file($this->varDir . '/' . self::SEEN_FILE);
    }

    private function remember(array $seen)
    {
        $file = $this->varDir . '/' . self::SEEN_FILE;
        if (file_put_contents($file, json_encode($seen, JSON_UNESCAPED_SLASHES), LOCK_EX) === false) {
            throw new RuntimeException("Cannot write {$file}.");
        }
        @chmod($file, 0600);
        if (function_exists('posix_geteuid') && posix_geteuid() === 0) {
            // Written by root (install, scheduled resync), read and written by the panel's user on events.
            @chown($file, fileowner($this->varDir));
            @chgrp($file, filegroup($this->varDir));
        }
    }

    /**
     * Makes each value that changed in Plesk since last seen the bridge's (the first time: every value). With
     * $complete, $current is all of Plesk and values no longer there are forgotten; without, only those keys are
     * looked at (one object after an event). A value the bridge refuses is said; it is not remembered, so the
     * next resync tries again (an object the bridge did not have yet), unless $rememberRefused (a person's change
     * the bridge's rules refuse stays refused). Returns [applied => n, refused => [key => message]].
     */
    public function pickUp(Modules_OutgoingMailLimits_BridgeClient $bridge, array $current, $complete, callable $say, $rememberRefused = false)
    {
        $seen = $this->seen();
        $changes = [];
        $unknown = [];
        foreach ($current as $key => $raw) {
            if (!Modules_OutgoingMailLimits_PleskLimitValue::understood($raw)) {
                // Never read as "inherit": the bridge's value stays, and it is said on every resync until fixed.
                $unknown[$key] = "Plesk's value \"{$raw}\" is not a number up to " . Modules_OutgoingMailLimits_PleskLimitValue::MAX . ', -1, "unlimited" or "default"; the value here is left as it was';
                continue;
            }
            $before = array_key_exists($key, $seen) ? Modules_OutgoingMailLimits_PleskLimitValue::fromPlesk($seen[$key]) : null;
            $now = Modules_OutgoingMailLimits_PleskLimitValue::fromPlesk($raw);
            if ($now !== $before) {
                $changes[$key] = $now;
            }
        }
        $refused = $this->apply($bridge, $changes) + $unknown;
        foreach ($refused as $key => $message) {
            list($level, $name) = explode(':', $key, 2);
            $say("Plesk's limit of " . ($level === 'server' ? "the server default per {$name}" : $name) . " was not taken over: {$message}");
        }
        $next = $complete ? [] : $seen;
        foreach ($current as $key => $raw) {
            if (isset($refused[$key]) && !$rememberRefused) {
                if (array_key_exists($key, $seen)) {
                    $next[$key] = $seen[$key];
                } else {
                    unset($next[$key]);
                }
            } else {
                $next[$key] = $raw;
            }
        }
        $this->remember($next);
        return ['applied' => count($changes) - count($refused) + count($unknown), 'refused' => $refused];
    }

    /** Server defaults in one PATCH; object values grouped by value in bulk, one by one where a bulk is refused. */
    private function apply(Modules_OutgoingMailLimits_BridgeClient $bridge, array $changes)
    {
        $refused = [];
        $defaults = [];
        $groups = [];
        foreach ($changes as $key => $value) {
            list($level, $name) = explode(':', $key, 2);
            if ($level === 'server') {
                if ($value !== null) {
                    $defaults[$name] = $value;
                }
            } else {
                $groups[$level][json_encode($value === null ? 'default' : $value)][] = $name;
            }
        }
        if ($defaults) {
            $answer = $bridge->json('PATCH', '/settings', ['defaults' => $defaults]);
            if ($answer['status'] !== 200) {
                foreach (array_keys($defaults) as $level) {
                    $refused["server:{$level}"] = self::errorOf($answer);
                }
            }
        }
        foreach ($groups as $level => $byValue) {
            foreach ($byValue as $valueJson => $names) {
                $limit = json_decode($valueJson, true);
                foreach (array_chunk($names, self::BULK_SIZE) as $chunk) {
                    if ($bridge->json('POST', '/limits/bulk', ['level' => $level, 'names' => $chunk, 'limit' => $limit])['status'] === 200) {
                        continue;
                    }
                    // One unknown name must not lose the others.
                    foreach ($chunk as $name) {
                        $single = $bridge->json('PUT', '/' . self::collection($level) . '/' . rawurlencode($name) . '/limit', ['limit' => $limit]);
                        if ($single['status'] !== 200) {
                            $refused["{$level}:{$name}"] = self::errorOf($single);
                        }
                    }
                }
            }
        }
        return $refused;
    }

    /**
     * Uninstall: Plesk gets the bridge's current values back where they differ from Plesk's. An imported value
     * nobody changed is equal and so not written; a changed one is written, an unchanged-by-meaning one in
     * Plesk's own spelling from $record. Without the bridge the server defaults come from $record and objects
     * keep Plesk's values. Plesk's own limiting is switched on again only when $record says it was on.
     * Returns the number of values written.
     */
    public function giveBack(?Modules_OutgoingMailLimits_BridgeClient $bridge, array $record, callable $say)
    {
        $plesk = $this->read();
        $now = self::values($plesk);
        $wanted = $bridge === null ? [] : $this->bridgeValues($bridge);
        if ($bridge === null) {
            foreach (self::PLESK_LEVEL as $level => $word) {
                $wanted["server:{$level}"] = Modules_OutgoingMailLimits_PleskLimitValue::fromPlesk($record['server']["outgoing_messages_{$word}_limit"]);
            }
        }
        $written = 0;
        foreach ($wanted as $key => $value) {
            $current = array_key_exists($key, $now) ? $now[$key] : false;
            if ($current === false || Modules_OutgoingMailLimits_PleskLimitValue::same($current, $value)) {
                continue; // not in Plesk (any more), or already the same
            }
            list($level, $name) = explode(':', $key, 2);
            $recorded = self::recorded($record, $level, $name);
            $raw = $recorded !== null && Modules_OutgoingMailLimits_PleskLimitValue::same($recorded, $value) ? $recorded : Modules_OutgoingMailLimits_PleskLimitValue::toPlesk($value);
            if ($level === 'subscription' && $value === null && $plesk['subscriptions'][$name]['plan'] !== null) {
                // No own value: the subscription's value is its plan's again.
                $raw = Modules_OutgoingMailLimits_PleskLimitValue::toPlesk($plesk['subscriptions'][$name]['plan']['subscription']);
            }
            try {
                $this->write($level, $name, $raw, $plesk);
                $written++;
            } catch (Exception $failed) {
                // One value Plesk refuses must not keep the others (or the switch) from going back.
                $say("Plesk's limit of " . ($level === 'server' ? "the server default per {$name}" : $name) . " could not be set to {$raw}: {$failed->getMessage()}. Set it in Plesk yourself.");
            }
        }
        if ($record['server']['outgoing_antispam'] === 'true' && $plesk['server']['outgoing_antispam'] !== 'true') {
            call_user_func($this->plesk, ['bin', 'mailserver', '--enable-outgoing-antispam']);
            $say("Plesk's own outgoing mail limiting is switched on again, as it was before install.");
        }
        $say($written ? "Plesk's own outgoing mail values now hold this extension's: {$written} value(s) written back (set or changed here after install)." : "Plesk's own outgoing mail values already equal this extension's: nothing to write back.");
        if ($bridge === null) {
            $say('The limits service did not answer: the server defaults were given back as recorded at install; subscriptions, domains and mailboxes keep the values Plesk has.');
        }
        return $written;
    }

    /** The bridge's server defaults and every object's own value ("server:…", "subscription:…" …; null: none). */
    private function bridgeValues(Modules_OutgoingMailLimits_BridgeClient $bridge)
    {
        $values = [];
        $settings = self::expect($bridge->json('GET', '/settings'), 'reading the settings');
        foreach (self::PLESK_LEVEL as $level => $word) {
            $values["server:{$level}"] = $settings['defaults'][$level];
        }
        foreach (self::PLESK_LEVEL as $level => $word) {
            for ($page = 1; ; $page++) {
                $data = self::expect($bridge->json('GET', '/' . self::collection($level) . '?pageSize=' . self::LIST_PAGE_SIZE . "&page={$page}"), "listing {$level}s");
                foreach ($data['items'] as $item) {
                    $values["{$level}:{$item['name']}"] = $item['ownLimit'] === 'default' ? null : $item['ownLimit'];
                }
                if (count($data['items']) < self::LIST_PAGE_SIZE) {
                    break;
                }
            }
        }
        return $values;
    }

    private function write($level, $name, $raw, array $plesk)
    {
        switch ($level) {
            case 'server':
                call_user_func($this->plesk, ['bin', 'mailserver', '--set-outgoing-messages-' . self::PLESK_LEVEL[$name] . '-limit', $raw]);
                return;
            case 'mailbox':
                call_user_func($this->plesk, ['bin', 'mail', '--update', $name, '-outgoing-messages-mbox-limit', $raw]);
                return;
            case 'domain':
                $this->api->setDomainLimit($name, $raw, $plesk['domains'][$name]['main']);
                return;
            case 'subscription':
                $this->api->setSubscriptionLimit($name, $raw);
                return;
        }
    }

    private static function recorded(array $record, $level, $name)
    {
        if ($level === 'server') {
            return isset($record['server']['outgoing_messages_' . self::PLESK_LEVEL[$name] . '_limit']) ? $record['server']['outgoing_messages_' . self::PLESK_LEVEL[$name] . '_limit'] : null;
        }
        $collection = $level === 'mailbox' ? 'mailboxes' : $level . 's';
        return isset($record[$collection][$name]) ? $record[$collection][$name] : null;
    }

    private static function collection($level)
    {
        return $level === 'mailbox' ? 'mailboxes' : $level . 's';
    }

    private static function expect(array $answer, $what)
    {
        if ($answer['status'] !== 200) {
            throw new RuntimeException("Failed {$what}: " . self::errorOf($answer));
        }
        return $answer['data'];
    }

    private static function errorOf(array $answer)
    {
        return is_array($answer['data']) && isset($answer['data']['error']) ? "{$answer['status']} {$answer['data']['error']}" : (string) $answer['status'];
    }

    /**
     * Plesk's own limiting must stay off while this extension enforces the limits: switched off again (and said)
     * when someone switched it on in Mail Server Settings. Returns whether it had to.
     */
    public function keepNativeOff(array $server, callable $say)
    {
        if ($server['outgoing_antispam'] !== 'true') {
            return false;
        }
        call_user_func($this->plesk, ['bin', 'mailserver', '--disable-outgoing-antispam']);
        $say("Plesk's own outgoing mail limiting had been switched on again; it is switched off, because Outgoing Mail Limits enforces the limits (their values are kept and taken over).");
        return true;
    }

    /**
     * Tells the bridge Plesk's state (PUT /platform/plesk). A bridge without that endpoint (404) is only said:
     * the report is for the health view and never stops an install or resync.
     */
    public static function report(Modules_OutgoingMailLimits_BridgeClient $bridge, $nativeLimiting, $mailServer, callable $say)
    {
        $answer = $bridge->json('PUT', '/platform/plesk', ['nativeLimiting' => $nativeLimiting ? 'on' : 'off', 'mailServer' => $mailServer, 'checkedAt' => gmdate('Y-m-d\TH:i:s\Z')]);
        if ($answer['status'] < 200 || $answer['status'] > 299) {
            $say("Plesk's state was not reported to the limits service: " . self::errorOf($answer));
            return false;
        }
        return true;
    }

    /** Runs `plesk` (as root: install, uninstall, resync) without a shell. */
    public static function runPlesk(array $args)
    {
        $result = Modules_OutgoingMailLimits_Installer::exec(array_merge(['plesk'], $args));
        if ($result['code'] !== 0) {
            throw new RuntimeException('plesk ' . implode(' ', $args) . " failed (exit {$result['code']}): " . trim($result['stderr'] . "\n" . $result['stdout']));
        }
        return $result['stdout'];
    }
}
