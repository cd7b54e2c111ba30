<?php
/**
 * Keeps the bridge's directory equal to Plesk's: single idempotent upserts and deletes for events, and a full
 * resync (upsert everything Plesk has, delete what it no longer has) for install and repair.
 */
class Modules_OutgoingMailLimits_DirectorySync
{
    const LIST_PAGE_SIZE = 200;
    /** Set when an event could not be passed on; cleared by a full resync. */
    const RESYNC_NEEDED_SETTING = 'directoryResyncNeeded';

    /** @var Modules_OutgoingMailLimits_BridgeClient */
    private $bridge;

    public function __construct(Modules_OutgoingMailLimits_BridgeClient $bridge)
    {
        $this->bridge = $bridge;
    }

    /** Creates or updates a subscription or add-on domain (and its subscription), renaming when asked. */
    public function upsertDomain(pm_Domain $domain, $previousName = null)
    {
        $main = Modules_OutgoingMailLimits_PleskObjects::subscriptionOf($domain);
        $subscription = Modules_OutgoingMailLimits_PleskDirectory::asciiDomain($main->getName());
        $name = Modules_OutgoingMailLimits_PleskDirectory::asciiDomain($domain->getName());
        $previous = $previousName === null ? null : Modules_OutgoingMailLimits_PleskDirectory::asciiDomain($previousName);
        $isMain = (int) $main->getId() === (int) $domain->getId();

        $subscriptionBody = Modules_OutgoingMailLimits_PleskObjects::subscriptionSync($main);
        if ($isMain && $previous !== null && $previous !== $name) {
            $subscriptionBody['previousName'] = $previous;
        }
        $this->expect(['PUT', '/directory/subscriptions/' . rawurlencode($subscription), $subscriptionBody]);

        $domainBody = ['subscription' => $subscription];
        if ($previous !== null && $previous !== $name) {
            $domainBody['previousName'] = $previous;
        }
        $this->expect(['PUT', '/directory/domains/' . rawurlencode($name), $domainBody]);
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
    }

    public function deleteMailbox($address)
    {
        $this->expect(['DELETE', '/directory/mailboxes/' . rawurlencode(strtolower($address)), null]);
    }

    /**
     * Makes the bridge's directory match Plesk's in one transaction: upserts keep every limit and count that is
     * already there; objects Plesk no longer has are deleted. Returns the bridge's counts.
     */
    public function fullResync()
    {
        $body = Modules_OutgoingMailLimits_PleskDirectory::syncBody();
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
        $answer = $this->bridge->json($method, $path, $data);
        if ($answer['status'] < 200 || $answer['status'] > 299) {
            $message = is_array($answer['data']) && isset($answer['data']['error']) ? $answer['data']['error'] : 'no message';
            throw new RuntimeException("{$method} {$path} answered {$answer['status']}: {$message}");
        }
        return $answer['data'];
    }
}
