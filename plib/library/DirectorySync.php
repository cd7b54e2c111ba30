<?php
/**
 * Keeps the bridge's directory equal to Plesk's: single idempotent upserts and deletes for events, and a full
 * resync (upsert everything Plesk has, delete what it no longer has) for install and repair. The notification
 * addresses of resellers and customers (the bridge's contacts) are kept the same way. Each subscription carries
 * its service plan's values (Plesk's own plan fields); a limit value changed in Plesk's own forms since it was
 * last seen becomes the object's own limit in the bridge (PleskLimits::pickUp).
 */
class Modules_OutgoingMailLimits_DirectorySync
{
    const LIST_PAGE_SIZE = 200;
    /** Set when an event could not be passed on; cleared by a full resync. */
    const RESYNC_NEEDED_SETTING = 'directoryResyncNeeded';

    /** @var Modules_OutgoingMailLimits_BridgeClient */
    private $bridge;
    /** @var Modules_OutgoingMailLimits_PleskLimits */
    private $limits;
    /** @var callable(string):void where a value the bridge refused is said (default: Plesk's log) */
    private $say;

    public function __construct(Modules_OutgoingMailLimits_BridgeClient $bridge, Modules_OutgoingMailLimits_PleskLimits $limits = null, callable $say = null)
    {
        $this->bridge = $bridge;
        $this->limits = $limits ?: Modules_OutgoingMailLimits_PleskLimits::forExtension();
        $this->say = $say ?: function ($line) {
            pm_Log::err('Outgoing mail limits: ' . $line);
        };
    }

    /**
     * Creates or updates a subscription or add-on domain (and its subscription), renaming when asked; the
     * subscription's owner and reseller get their current notification address.
     */
    public function upsertDomain(pm_Domain $domain, $previousName = null)
    {
        $main = Modules_OutgoingMailLimits_PleskObjects::subscriptionOf($domain);
        $name = Modules_OutgoingMailLimits_PleskDirectory::asciiDomain($domain->getName());
        $previous = $previousName === null ? null : Modules_OutgoingMailLimits_PleskDirectory::asciiDomain($previousName);
        $isMain = (int) $main->getId() === (int) $domain->getId();

        $plesk = $this->limits->readSubscription($main->getId());
        $subscription = $this->upsertSubscription($main, $plesk['plan'], $isMain ? $previous : null);

        $domainBody = ['subscription' => $subscription];
        if ($previous !== null && $previous !== $name) {
            $domainBody['previousName'] = $previous;
        }
        $this->expect(['PUT', '/directory/domains/' . rawurlencode($name), $domainBody]);
        $values = $plesk['values'] + ($isMain ? [] : $this->limits->readSite($domain->getId()));
        $this->pickUpFromEvent($values);

        foreach (Modules_OutgoingMailLimits_PleskObjects::notifiedClients($main) as $login => $client) {
            $this->writeContact($login, Modules_OutgoingMailLimits_PleskDirectory::emailOf($client));
        }
    }

    /** PUT of a subscription (by its main domain) with owner, reseller, system user and plan; returns its name. */
    private function upsertSubscription(pm_Domain $main, $plan, $previousName = null)
    {
        $subscription = Modules_OutgoingMailLimits_PleskDirectory::asciiDomain($main->getName());
        $body = Modules_OutgoingMailLimits_PleskObjects::subscriptionSync($main, $plan);
        if ($previousName !== null && $previousName !== $subscription) {
            $body['previousName'] = $previousName;
        }
        $this->expect(['PUT', '/directory/subscriptions/' . rawurlencode($subscription), $body]);
        return $subscription;
    }

    /**
     * A service plan changed (Plesk syncs it to its subscriptions): every subscription is sent again with its
     * plan's values, and subscription and main domain values changed since last seen are taken over. Reads only
     * plans and subscriptions (not every mail account, as the full resync does): it runs in the plan form's request.
     */
    public function refreshPlans()
    {
        $subscriptions = $this->limits->readSubscriptions();
        $values = [];
        foreach (pm_Domain::getAllDomains(true) as $main) {
            $name = Modules_OutgoingMailLimits_PleskDirectory::asciiDomain($main->getName());
            if (isset($subscriptions[$name])) {
                $this->upsertSubscription($main, $subscriptions[$name]['plan']);
                $values["subscription:{$name}"] = $subscriptions[$name]['own'];
                $values["domain:{$name}"] = $subscriptions[$name]['domainOwn'];
            }
        }
        $this->pickUpFromEvent($values);
    }

    /**
     * A customer or reseller was created, changed or deleted: its login may have changed, so the subscriptions
     * it owns or resells are sent again, then every contact is made to match Plesk (a deleted client's address
     * goes). $clientId may name a client that no longer exists.
     */
    public function refreshClient($clientId)
    {
        try {
            $client = pm_Client::getByClientId((int) $clientId);
        } catch (pm_Exception $gone) {
            $client = null;
        }
        if ($client !== null) {
            $subscriptions = null;
            foreach (pm_Domain::getAllDomains(true) as $main) {
                $owner = $main->getClient();
                $reseller = Modules_OutgoingMailLimits_PleskObjects::resellerOf($owner);
                if ((int) $owner->getId() === (int) $client->getId() || ($reseller !== null && (int) $reseller->getId() === (int) $client->getId())) {
                    // Plans of all subscriptions in two XML API calls, once, not two per subscription.
                    $subscriptions = $subscriptions === null ? $this->limits->readSubscriptions() : $subscriptions;
                    $name = Modules_OutgoingMailLimits_PleskDirectory::asciiDomain($main->getName());
                    $this->upsertSubscription($main, isset($subscriptions[$name]) ? $subscriptions[$name]['plan'] : null);
                }
            }
        }
        return $this->syncContacts();
    }

    /**
     * Makes the bridge's contacts equal to Plesk's: the address of every customer and reseller that owns or
     * resells a subscription; contacts of anyone else, or without an address in Plesk, are removed. An address
     * the bridge refuses is logged and its login gets no contact (never an outdated one). Returns the counts.
     */
    public function syncContacts()
    {
        $wanted = Modules_OutgoingMailLimits_PleskDirectory::contacts();
        $have = [];
        foreach ($this->expect(['GET', '/directory/contacts', null])['items'] as $item) {
            $have[$item['login']] = $item['address'];
        }
        $counts = ['set' => 0, 'unchanged' => 0, 'removed' => 0, 'refused' => 0];
        foreach ($wanted as $login => $address) {
            if ($address === null) {
                continue;
            }
            if (isset($have[$login]) && $have[$login] === $address) {
                $counts['unchanged']++;
            } elseif ($this->writeContact($login, $address)) {
                $counts['set']++;
            } else {
                $counts['refused']++;
                $wanted[$login] = null;
            }
        }
        foreach (array_keys($have) as $login) {
            if (!isset($wanted[$login])) {
                $this->writeContact($login, null);
                $counts['removed']++;
            }
        }
        return $counts;
    }

    /**
     * PUT (or with null DELETE) of one contact; idempotent. False when the bridge refuses the address or login as
     * malformed (logged, with any earlier address removed); other failures throw.
     */
    private function writeContact($login, $address)
    {
        $path = '/directory/contacts/' . rawurlencode((string) $login);
        if ($address !== null) {
            $answer = $this->bridge->json('PUT', $path, ['address' => $address]);
            if ($answer['status'] !== 400) {
                $this->check('PUT', $path, $answer);
                return true;
            }
            pm_Log::err("Outgoing mail limits: notifications for {$login} cannot go to \"{$address}\": " . self::errorOf($answer));
        }
        $answer = $this->bridge->json('DELETE', $path, null);
        if ($answer['status'] === 400) {
            // A login the bridge cannot store has no contact there either.
            return false;
        }
        $this->check('DELETE', $path, $answer);
        return $address === null;
    }

    public function deleteDomain($name, $wasSubscription)
    {
        $name = Modules_OutgoingMailLimits_PleskDirectory::asciiDomain($name);
        $this->expect(['DELETE', '/directory/domains/' . rawurlencode($name), null]);
        if ($wasSubscription) {
            $this->expect(['DELETE', '/directory/subscriptions/' . rawurlencode($name), null]);
        }
    }

    public function upsertMailbox($address, $previousAddress = null)
    {
        $body = [];
        if ($previousAddress !== null && strtolower($previousAddress) !== strtolower($address)) {
            $body['previousAddress'] = strtolower($previousAddress);
        }
        $this->expect(['PUT', '/directory/mailboxes/' . rawurlencode(strtolower($address)), (object) $body]);
        $domainName = substr($address, strrpos($address, '@') + 1);
        $domain = Modules_OutgoingMailLimits_PleskObjects::domainByName($domainName);
        if ($domain !== null) {
            $this->pickUpFromEvent($this->limits->readMailboxes($domain->getId(), $domainName));
        }
    }

    public function deleteMailbox($address)
    {
        $this->expect(['DELETE', '/directory/mailboxes/' . rawurlencode(strtolower($address)), null]);
    }

    /**
     * Makes the bridge's directory match Plesk's in one transaction: upserts keep every limit and count that is
     * already there; objects Plesk no longer has are deleted. Then the contacts (syncContacts), then the limit
     * values changed in Plesk since last seen (all of them the first time). $plesk: a PleskLimits::read() made
     * just before, else it is read here. Returns the bridge's counts with the contacts' under "contacts" and
     * the number of values taken from Plesk under "pleskValues".
     */
    public function fullResync(array $plesk = null)
    {
        $plesk = $plesk ?: $this->limits->read();
        $counts = $this->syncDirectory($plesk);
        $counts['contacts'] = $this->syncContacts();
        $counts['pleskValues'] = $this->pickUpAll($plesk);
        return $counts;
    }

    /**
     * The first time (install) every value Plesk has is taken as Plesk itself. Later, who changed a value is not
     * known here: server and subscription values (only the administrator and resellers set those in Plesk) are
     * taken as Plesk itself, domain and mailbox values (which customers may set in Plesk's own forms) as the
     * owner of their subscription, so that a change a customer made while no event reached the bridge meets the
     * same rules as one that did (pickUpFromEvent). Values Plesk no longer has are forgotten.
     */
    private function pickUpAll(array $plesk)
    {
        $values = Modules_OutgoingMailLimits_PleskLimits::values($plesk);
        if (!$this->limits->hasSeen()) {
            return $this->pickUp($values, true);
        }
        $owners = [];
        foreach (pm_Domain::getAllDomains(true) as $main) {
            $owner = $main->getClient();
            $owners[Modules_OutgoingMailLimits_PleskDirectory::asciiDomain($main->getName())] = $owner->isAdmin() ? null : $owner;
        }
        $byOwner = ['' => []];
        $clients = [];
        foreach ($values as $key => $raw) {
            list($level, $name) = explode(':', $key, 2);
            $subscription = null;
            if ($level === 'domain') {
                $subscription = $plesk['domains'][$name]['subscription'];
            } elseif ($level === 'mailbox') {
                $subscription = $plesk['domains'][$plesk['mailboxes'][$name]['domain']]['subscription'];
            }
            $owner = $subscription !== null && isset($owners[$subscription]) ? $owners[$subscription] : null;
            $login = $owner === null ? '' : $owner->getLogin();
            $byOwner[$login][$key] = $raw;
            $clients[$login] = $owner;
        }
        $applied = $this->pickUp($byOwner[''], false);
        unset($byOwner['']);
        foreach ($byOwner as $login => $ownValues) {
            $applied += $this->pickUpAs($clients[$login], $ownValues, 'taken as its owner ' . $login);
        }
        $this->limits->forgetAllBut(array_keys($values));
        return $applied;
    }

    /** Values changed in Plesk become the bridge's; one the bridge refuses is logged and tried again next time. */
    private function pickUp(array $values, $complete)
    {
        $picked = $this->limits->pickUp($this->bridge, $values, $complete, $this->say);
        return $picked['applied'];
    }

    /**
     * After an event, values changed in Plesk are set in the bridge as the person who changed them: Plesk runs
     * event handlers in that person's request, and a customer may change domain and mailbox limits in Plesk's own
     * forms. The bridge's rules for that person apply (a customer within the limits the administrator allows); a
     * value it refuses is logged and remembered as seen, so that no later resync sets it with Plesk's authority.
     */
    private function pickUpFromEvent(array $values)
    {
        $client = $this->actor();
        if ($client === null) {
            return $this->pickUp($values, false);
        }
        return $this->pickUpAs($client, $values, 'changed in Plesk by ' . $client->getLogin());
    }

    /** Values set in the bridge as $client; a refused one is logged and remembered as seen (stays refused). */
    private function pickUpAs(pm_Client $client, array $values, $why)
    {
        $bridge = Modules_OutgoingMailLimits_BridgeClient::inDataDir(Modules_OutgoingMailLimits_Identity::fromClient($client));
        $say = $this->say;
        $picked = $this->limits->pickUp($bridge, $values, false, function ($line) use ($say, $why) {
            call_user_func($say, "{$line} ({$why})");
        }, true);
        return $picked['applied'];
    }

    /** The reseller or customer signed in to Plesk, or null for the administrator and when nobody is. */
    private function actor()
    {
        try {
            $client = pm_Session::getClient();
        } catch (Exception $nobody) {
            return null;
        }
        return $client->isAdmin() ? null : $client;
    }

    private function syncDirectory(array $plesk)
    {
        $body = Modules_OutgoingMailLimits_PleskDirectory::syncBody($plesk);
        $wanted = [
            'subscriptions' => array_column($body['subscriptions'], 'name'),
            'domains' => array_column($body['domains'], 'name'),
            'mailboxes' => array_column($body['mailboxes'], 'address'),
        ];
        $body['delete'] = [];
        foreach ($wanted as $collection => $names) {
            $body['delete'][$collection] = array_values(array_diff($this->namesInBridge($collection), $names));
        }
        return $this->expect(['POST', '/directory/sync', $body]);
    }

    /** Every name the bridge holds in one collection, page by page. */
    private function namesInBridge($collection)
    {
        $names = [];
        for ($page = 1; ; $page++) {
            $data = $this->expect(['GET', "/{$collection}?pageSize=" . self::LIST_PAGE_SIZE . "&page={$page}", null]);
            foreach ($data['items'] as $item) {
                $names[] = $item['name'];
            }
            if (count($data['items']) < self::LIST_PAGE_SIZE || count($names) >= (int) $data['total']) {
                return $names;
            }
        }
    }

    /** Sends one call; anything but 2xx is an error with the bridge's own message. */
    private function expect(array $call)
    {
        list($method, $path, $data) = $call;
        return $this->check($method, $path, $this->bridge->json($method, $path, $data));
    }

    private function check($method, $path, array $answer)
    {
        if ($answer['status'] < 200 || $answer['status'] > 299) {
            throw new RuntimeException("{$method} {$path} answered {$answer['status']}: " . self::errorOf($answer));
        }
        return $answer['data'];
    }

    /** The bridge's message, with the field's own words when it names one. */
    private static function errorOf(array $answer)
    {
        $data = is_array($answer['data']) ? $answer['data'] : [];
        $message = isset($data['error']) ? (string) $data['error'] : 'no message';
        if (isset($data['fields']) && is_array($data['fields'])) {
            foreach ($data['fields'] as $field => $text) {
                $message .= "; {$field} {$text}";
            }
        }
        return $message;
    }
}
