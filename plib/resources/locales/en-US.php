<?php
// Texts the PHP layer shows in Plesk itself (buttons, form labels); screen texts live in the frontend.
$messages = [
    'extensionName' => 'Outgoing Mail Limits',
    'limitOutgoingMessages' => 'Limit Outgoing Messages',
    'unlimited' => 'Unlimited',
    'perHour' => 'per hour',
    'useDefault' => 'Use the default (%%value%% per hour)',
    'customLimit' => 'Limit to',
    'serviceDown' => 'The outgoing mail limits service is not running',
    'adminOnly' => 'Only the administrator can see or change the server settings.',
    'domainNotFound' => 'Domain %%name%% not found or not yours.',
    'buttonServerSettings' => 'Outgoing Mail Limits',
    'buttonServerSettingsDescription' => 'Hourly limits on outgoing messages per mailbox, domain and subscription.',
    'buttonOverview' => 'Outgoing Mail Control',
    'buttonOverviewDescription' => 'Who sends how much, who is at the limit, and when sending resumes.',
    'buttonResellerOverviewDescription' => 'Outgoing messages of your customers\' subscriptions.',
    'buttonSubscriptionLimits' => 'Limit Outgoing Messages',
    'buttonSubscriptionLimitsDescription' => 'Hourly limits on outgoing messages of this subscription and its domains.',
    'buttonMailboxLimits' => 'Outgoing Messages of Mailboxes',
    'buttonMailboxLimitsDescription' => 'Hourly limits and usage of each mailbox of this domain.',
    'permissionManage' => 'Manage outgoing mail limits',
    'permissionManageDescription' => 'Set the hourly outgoing limits of domains and mailboxes, within the subscription\'s limit.',
];
