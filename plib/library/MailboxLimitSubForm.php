<?php
/**
 * The "Limit outgoing messages" part of Plesk's mailbox settings form: the same three choices as the screens'
 * dialog (the default, Unlimited, or a number per hour), and the same again for the daily limit (per day). The bridge decides what this person may set; its
 * refusal ("The value must be in the range 0...25. ...") is shown on the form as it is.
 */
class Modules_OutgoingMailLimits_MailboxLimitSubForm extends pm_Form_SubForm
{
    /** @var string|null the mailbox this form edits, or null when the sub-form is not shown */
    private $address;
    /** @var Modules_OutgoingMailLimits_BridgeClient|null */
    private $bridge;
    /** @var array{mode: string, value: string}|null the daily choice as the form showed it: sent only when changed */
    private $dailyShown;
    /** @var array{mode: string, value: string}|null the recipients-per-message choice as shown: sent only when changed */
    private $recipientsShown;

    public function __construct($options = null, Modules_OutgoingMailLimits_BridgeClient $bridge = null)
    {
        $this->bridge = $bridge;
        parent::__construct($options);
    }

    public function init()
    {
        parent::init();
        $this->setLegend(pm_Locale::lmsg('limitOutgoingMessages'));
        $mailId = $this->requestParam('id');
        $this->address = $mailId === null ? null : Modules_OutgoingMailLimits_PleskDirectory::mailboxAddressById($mailId);
        if ($this->address === null || !$this->mayManage($this->address)) {
            $this->address = null;
            return;
        }
        try {
            $answer = $this->bridge()->json('GET', '/mailboxes/' . rawurlencode($this->address));
        } catch (Modules_OutgoingMailLimits_BridgeUnavailableException $down) {
            $this->address = null;
            // simpleText: a line of text among the form's fields, one of the element types pm_Form_SubForm documents.
            $this->addElement('simpleText', 'outgoingLimitUnavailable', ['value' => $down->getMessage()]);
            return;
        }
        if ($answer['status'] !== 200) {
            // Not in the directory yet, or not this person's: Plesk's form goes on without our part.
            $this->address = null;
            return;
        }
        $row = $answer['data'];
        if (!empty($row['lockedForYou'])) {
            // A value a higher role locked: say who set it, and save nothing (the bridge would refuse it anyway,
            // and with it the rest of Plesk's mailbox form).
            $this->address = null;
            $role = pm_Locale::lmsg($row['lockedByRole'] === 'reseller' ? 'roleReseller' : 'roleAdmin');
            $this->addElement('simpleText', 'outgoingLimitLocked', [
                'label' => pm_Locale::lmsg('limitOutgoingMessages'),
                'value' => pm_Locale::lmsg('limitLocked', ['value' => self::describe($row['effectiveLimit']), 'role' => $role, 'login' => (string) $row['lockedBy']]),
            ]);
            return;
        }
        $own = $row['ownLimit'];
        $mode = $own === 'default' || $own === 'unlimited' ? $own : 'custom';
        $this->addElement('radio', 'outgoingLimitMode', [
            'label' => pm_Locale::lmsg('limitOutgoingMessages'),
            'multiOptions' => [
                'default' => pm_Locale::lmsg('useDefault', ['value' => self::describe($row['defaultLimit'])]),
                'unlimited' => pm_Locale::lmsg('unlimited'),
                'custom' => pm_Locale::lmsg('customLimit'),
            ],
            'value' => $mode,
        ]);
        $this->addElement('text', 'outgoingLimitValue', [
            'label' => pm_Locale::lmsg('perHour'),
            'value' => is_int($own) ? (string) $own : '',
            'description' => isset($row['ceiling']['reason']) ? $row['ceiling']['reason'] : '',
        ]);
        $daily = isset($row['daily']) && is_array($row['daily']) ? $row['daily'] : null;
        if ($daily === null) {
            $this->addRecipientsChoice($row);
            return;
        }
        $dailyOwn = $daily['ownLimit'];
        $this->dailyShown = [
            'mode' => $dailyOwn === 'default' || $dailyOwn === 'unlimited' ? $dailyOwn : 'custom',
            'value' => is_int($dailyOwn) ? (string) $dailyOwn : '',
        ];
        $this->addElement('radio', 'outgoingDailyLimitMode', [
            'label' => pm_Locale::lmsg('dailyLimit'),
            'multiOptions' => [
                'default' => $daily['defaultLimit'] === 'unlimited'
                    ? pm_Locale::lmsg('useDefaultDaily', ['value' => pm_Locale::lmsg('unlimited')])
                    : pm_Locale::lmsg('useDefaultDaily', ['value' => (string) $daily['defaultLimit']]),
                'unlimited' => pm_Locale::lmsg('noDailyLimit'),
                'custom' => pm_Locale::lmsg('customLimit'),
            ],
            'value' => $this->dailyShown['mode'],
        ]);
        $this->addElement('text', 'outgoingDailyLimitValue', [
            'label' => pm_Locale::lmsg('perDay'),
            'value' => $this->dailyShown['value'],
            'description' => isset($daily['ceiling']['reason']) ? $daily['ceiling']['reason'] : '',
        ]);
        $this->addRecipientsChoice($row);
    }

    /** Saves the choice through the bridge; a refusal becomes the form's error with the bridge's words. */
    public function process()
    {
        if ($this->address === null) {
            return;
        }
        $body = ['limit' => self::chosen($this->getValue('outgoingLimitMode'), $this->getValue('outgoingLimitValue'))];
        if ($this->dailyShown !== null) {
            $dailyMode = (string) $this->getValue('outgoingDailyLimitMode');
            $dailyValue = trim((string) $this->getValue('outgoingDailyLimitValue'));
            // Only a changed daily choice is sent: one the person left alone never stops the rest of the form.
            if ($dailyMode !== $this->dailyShown['mode'] || ($dailyMode === 'custom' && $dailyValue !== $this->dailyShown['value'])) {
                $body['dailyLimit'] = self::chosen($dailyMode, $dailyValue);
            }
        }
        if ($this->recipientsShown !== null) {
            $recipientsMode = (string) $this->getValue('outgoingRecipientLimitMode');
            $recipientsValue = trim((string) $this->getValue('outgoingRecipientLimitValue'));
            if ($recipientsMode !== $this->recipientsShown['mode'] || ($recipientsMode === 'custom' && $recipientsValue !== $this->recipientsShown['value'])) {
                $body['recipientLimit'] = self::chosen($recipientsMode, $recipientsValue);
            }
        }
        $answer = $this->bridge()->json('PUT', '/mailboxes/' . rawurlencode($this->address) . '/limit', $body);
        if ($answer['status'] !== 200) {
            $data = is_array($answer['data']) ? $answer['data'] : [];
            // The field's own message says what is allowed ("must be a whole number ..."); else the general one.
            $message = isset($data['fields']['limit']) ? $data['fields']['limit']
                : (isset($data['fields']['dailyLimit']) ? $data['fields']['dailyLimit']
                : (isset($data['fields']['recipientLimit']) ? $data['fields']['recipientLimit'] : (isset($data['error']) ? $data['error'] : "HTTP {$answer['status']}")));
            throw new pm_Exception($message);
        }
    }

    /**
     * The maximum of recipients in one message (a message with more is refused for good): the default, any number,
     * or a number of 1 or more. Not shown by a bridge that does not know it.
     */
    private function addRecipientsChoice(array $row)
    {
        $recipients = isset($row['recipients']) && is_array($row['recipients']) ? $row['recipients'] : null;
        if ($recipients === null) {
            return;
        }
        $own = $recipients['ownLimit'];
        $this->recipientsShown = [
            'mode' => $own === 'default' || $own === 'unlimited' ? $own : 'custom',
            'value' => is_int($own) ? (string) $own : '',
        ];
        $default = $recipients['defaultLimit'] === 'unlimited' ? pm_Locale::lmsg('anyNumberOfRecipients') : (string) $recipients['defaultLimit'];
        $this->addElement('radio', 'outgoingRecipientLimitMode', [
            'label' => pm_Locale::lmsg('recipientsPerMessage'),
            'multiOptions' => [
                'default' => pm_Locale::lmsg('useDefaultRecipients', ['value' => $default]),
                'unlimited' => pm_Locale::lmsg('anyNumberOfRecipients'),
                'custom' => pm_Locale::lmsg('customLimit'),
            ],
            'value' => $this->recipientsShown['mode'],
        ]);
        $this->addElement('text', 'outgoingRecipientLimitValue', [
            'label' => pm_Locale::lmsg('recipientsMax'),
            'value' => $this->recipientsShown['value'],
            'description' => pm_Locale::lmsg('recipientsHint'),
        ]);
    }

    /** A radio choice and its number as the bridge takes them. */
    private static function chosen($mode, $value)
    {
        if ($mode === 'default' || $mode === 'unlimited') {
            return $mode;
        }
        $text = trim((string) $value);
        // Sent as a number when it is one; anything else goes as typed so the bridge explains what is allowed.
        return preg_match('/^\d{1,10}$/', $text) ? (int) $text : $text;
    }

    /** Customers see this part only with the "Manage outgoing mail limits" permission on the domain. */
    private function mayManage($address)
    {
        $client = pm_Session::getClient();
        if (!$client->isClient()) {
            return true;
        }
        // pm_Domain::getByName takes the display name, which is Unicode for an IDN: domainByName tries both.
        $domain = Modules_OutgoingMailLimits_PleskObjects::domainByName(substr($address, strpos($address, '@') + 1));
        return $domain !== null && $client->hasPermission(Modules_OutgoingMailLimits_PleskObjects::PERMISSION, $domain);
    }

    private function bridge()
    {
        if ($this->bridge === null) {
            $this->bridge = Modules_OutgoingMailLimits_BridgeClient::forSession();
        }
        return $this->bridge;
    }

    /** The mailbox form's own request: Plesk edits a mail account at .../id/<mail id>. */
    private function requestParam($name)
    {
        $request = Zend_Controller_Front::getInstance()->getRequest();
        $value = $request === null ? null : $request->getParam($name);
        return $value === null || $value === '' ? null : $value;
    }

    private static function describe($limit)
    {
        return $limit === 'unlimited' ? pm_Locale::lmsg('unlimited') : (string) $limit;
    }
}
