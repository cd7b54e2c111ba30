<?php
// Texts the PHP layer shows in Plesk itself (buttons, form labels); screen texts live in the frontend's messages.
$messages = [
    'extensionName' => 'Outgoing Mail Limits',
    'limitOutgoingMessages' => 'Limit Outgoing Messages',
    'unlimited' => 'Unlimited',
    'perHour' => 'per hour',
    'useDefault' => 'Use the default (%%value%% per hour)',
    'serviceDown' => 'The outgoing mail limits service is not running',
];
