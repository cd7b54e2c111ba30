<?php
use PHPUnit\Framework\TestCase;

/** The daily limit on Plesk's mailbox settings form: shown beside the hourly one, sent only when changed. */
final class DailyLimitSubFormTest extends TestCase
{
    protected function setUp(): void
    {
        PleskWorld::reset();
        PleskWorld::resync();
    }

    public function testTheDailyChoiceIsShownAndSavedBesideTheHourlyOne(): void
    {
        pm_Session::$client = PleskWorld::$jdoe;
        $form = $this->openMailboxForm(1);
        $this->assertSame('default', $form->getValue('outgoingDailyLimitMode'));
        $this->assertSame(
            ['default' => 'Use the default (Unlimited per day)', 'unlimited' => 'No daily limit', 'custom' => 'Limit to'],
            $form->elements['outgoingDailyLimitMode']['options']['multiOptions']
        );
        $form->populate(['outgoingDailyLimitMode' => 'custom', 'outgoingDailyLimitValue' => '500']);
        $form->process();
        $this->assertSame(['ownLimit' => 'default', 'daily' => 500], $this->ownLimits('alice@jdoe.example'));

        $again = $this->openMailboxForm(1);
        $this->assertSame('custom', $again->getValue('outgoingDailyLimitMode'));
        $this->assertSame('500', $again->getValue('outgoingDailyLimitValue'));
        // A change of the hourly value alone leaves the daily one as it is.
        $again->populate(['outgoingLimitMode' => 'custom', 'outgoingLimitValue' => '30']);
        $again->process();
        $this->assertSame(['ownLimit' => 30, 'daily' => 500], $this->ownLimits('alice@jdoe.example'));
    }

    public function testADailyChoiceTheCustomerMayNotKeepNeverBlocksTheFormUntilChanged(): void
    {
        // Under a daily cap of 100 the default (no daily limit) is above what jdoe may choose.
        PleskWorld::integration()->json('PUT', '/domains/jdoe.example/limit', ['dailyLimit' => 100]);
        pm_Session::$client = PleskWorld::$jdoe;
        $form = $this->openMailboxForm(1);
        $this->assertSame('The domain jdoe.example may send at most 100 per day.', $form->elements['outgoingDailyLimitValue']['options']['description']);
        $form->populate(['outgoingLimitMode' => 'custom', 'outgoingLimitValue' => '20']);
        $form->process();
        $this->assertSame(['ownLimit' => 20, 'daily' => 'default'], $this->ownLimits('alice@jdoe.example'));

        $form = $this->openMailboxForm(1);
        $form->populate(['outgoingDailyLimitMode' => 'custom', 'outgoingDailyLimitValue' => '101']);
        try {
            $form->process();
            $this->fail('101 should have been refused');
        } catch (pm_Exception $refused) {
            $this->assertSame('The value must be in the range 0...100. Only the administrator can raise it.', $refused->getMessage());
        }
        $this->assertSame(['ownLimit' => 20, 'daily' => 'default'], $this->ownLimits('alice@jdoe.example'));
    }

    private function openMailboxForm($mailId)
    {
        Zend_Controller_Front::getInstance()->request = new Zend_Controller_Request_Http('GET', '/smb/email-address/edit', ['id' => (string) $mailId]);
        return new Modules_OutgoingMailLimits_MailboxLimitSubForm();
    }

    private function ownLimits($address)
    {
        $row = PleskWorld::integration()->json('GET', '/mailboxes/' . rawurlencode($address))['data'];
        return ['ownLimit' => $row['ownLimit'], 'daily' => $row['daily']['ownLimit']];
    }
}
