<?php
/**
 * Service plan limits: the hourly outgoing limits a plan gives its subscriptions. -1 (the default, "Unlimited" in
 * the plan form) means the plan sets no value and the server default applies; a subscription's own limit in the
 * extension wins over the plan's.
 */
class Modules_OutgoingMailLimits_Limits extends pm_Hook_Limits
{
    const MAILBOX = 'outgoing_messages_mbox_per_hour';
    const DOMAIN = 'outgoing_messages_domain_per_hour';
    const SUBSCRIPTION = 'outgoing_messages_subscription_per_hour';
    /** The bridge's level for each limit. */
    const BY_LEVEL = ['mailbox' => self::MAILBOX, 'domain' => self::DOMAIN, 'subscription' => self::SUBSCRIPTION];

    public function getLimits()
    {
        return [
            self::SUBSCRIPTION => [
                'default' => -1,
                'place' => self::PLACE_MAIN,
                'name' => pm_Locale::lmsg('limitSubscription'),
                'description' => pm_Locale::lmsg('limitSubscriptionDescription'),
            ],
            self::DOMAIN => [
                'default' => -1,
                'place' => self::PLACE_MAIN,
                'name' => pm_Locale::lmsg('limitDomain'),
                'description' => pm_Locale::lmsg('limitDomainDescription'),
            ],
            self::MAILBOX => [
                'default' => -1,
                'place' => self::PLACE_MAIN,
                'name' => pm_Locale::lmsg('limitMailbox'),
                'description' => pm_Locale::lmsg('limitMailboxDescription'),
            ],
        ];
    }
}
