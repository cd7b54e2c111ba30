<?php
/**
 * "Limit outgoing messages" on Plesk's own mailbox settings form (FORM_EMAIL_ADDRESS_SETTINGS, Plesk 18.0.41+):
 * Plesk has no button place on a mailbox, so the mailbox limit is edited where the mailbox is.
 */
class Modules_OutgoingMailLimits_Form extends pm_Hook_Form
{
    public function getSubForms($controller, $action, $formId)
    {
        if ($formId !== self::FORM_EMAIL_ADDRESS_SETTINGS) {
            return [];
        }
        return [new Modules_OutgoingMailLimits_MailboxLimitSubForm()];
    }
}
