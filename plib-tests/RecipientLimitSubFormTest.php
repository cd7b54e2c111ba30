<?php
use PHPUnit\Framework\TestCase;

/** The maximum of recipients per message on Plesk's mailbox settings form: shown, sent only when changed. */
final class RecipientLimitSubFormTest extends TestCase
{
    protected function setUp(): void
    {
        PleskWorld::reset();
        PleskWorld::resync();
    }

    public function testTheRecipientsChoiceIsShownAndSavedWithoutTouchingTheOthers(): void
    {
        pm_Session::$client = PleskWorld::$jdoe;
        $form = $this->openMailboxForm(1);
        $this->assertSame('default', $form->getValue('outgoingRecipientLimitMode'));
        $this->assertSame(
            ['default' => 'Use the default (Any number of recipients)', 'unlimited' => 'Any number of recipients', 'custom' => 'Limit to'],
            $form->elements['outgoingRecipientLimitMode']['options']['multiOptions']
        );
        $form->populate(['outgoingRecipientLimitMode' => 'custom', 'outgoingRecipientLimitValue' => '50']);
        $form->process();
        $this->assertSame(['ownLimit' => 'default', 'daily' => 'default', 'recipients' => 50], $this->ownLimits('alice@jdoe.example'));

        $again = $this->openMailboxForm(1);
        $this->assertSame('custom', $again->getValue('outgoingRecipientLimitMode'));
        $this->assertSame('50', $again->getValue('outgoingRecipientLimitValue'));
        // A change of the hourly value alone leaves the maximum as it is.
        $again->populate(['outgoingLimitMode' => 'custom', 'outgoingLimitValue' => '30']);
        $again->process();
        $this->assertSame(['ownLimit' => 30, 'daily' => 'default', 'recipients' => 50], $this->ownLimits('alice@jdoe.example'));
    }

    public function testZeroIsRefusedWithTheBridgesSentenceAndNothingChanges(): void
    {
        pm_Session::$client = PleskWorld::$jdoe;
        $form = $this->openMailboxForm(1);
        $form->populate(['outgoingRecipientLimitMode' => 'custom', 'outgoingRecipientLimitValue' => '0']);
        try {
            $form->process();
            $this->fail('0 should have been refused');
        } catch (pm_Exception $refused) {
            $this->assertSame('must be a whole number of recipients from 1 to 1000000000, "unlimited" or "default"', $refused->getMessage());
        }
        $this->assertSame(['ownLimit' => 'default', 'daily' => 'default', 'recipients' => 'default'], $this->ownLimits('alice@jdoe.example'));
    }

    private function openMailboxForm($mailId)
    {
        Zend_Controller_Front::getInstance()->request = new Zend_Controller_Request_Http('GET', '/smb/email-address/edit', ['id' => (string) $mailId]);
        return new Modules_OutgoingMailLimits_MailboxLimitSubForm();
    }

    private function ownLimits($address)
    {
        $row = PleskWorld::integration()->json('GET', '/mailboxes/' . rawurlencode($address))['data'];
        return ['ownLimit' => $row['ownLimit'], 'daily' => $row['daily']['ownLimit'], 'recipients' => $row['recipients']['ownLimit']];
    }
}
