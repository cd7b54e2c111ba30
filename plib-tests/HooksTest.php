<?php
use PHPUnit\Framework\TestCase;

final class HooksTest extends TestCase
{
    protected function setUp(): void
    {
        PleskWorld::reset();
        PleskWorld::resync();
    }

    public function testButtonsOpenTheScreensFromPlesksOwnPlaces(): void
    {
        $buttons = (new Modules_OutgoingMailLimits_CustomButtons())->getButtons();
        $where = array_map(function ($b) {
            return [$b['place'], isset($b['section']) ? $b['section'] : null, $b['link'], !empty($b['contextParams'])];
        }, $buttons);
        $this->assertSame([
            [pm_Hook_CustomButtons::PLACE_ADMIN_TOOLS_AND_SETTINGS, 'mailButtons', '/modules/outgoing-mail-limits/index.php/ui/settings', false],
            [pm_Hook_CustomButtons::PLACE_ADMIN_TOOLS_AND_SETTINGS, 'mailButtons', '/modules/outgoing-mail-limits/index.php/ui/overview', false],
            // No mail section in the reseller's Tools & Utilities: Plesk puts it under Additional Services.
            [pm_Hook_CustomButtons::PLACE_RESELLER_TOOLS_AND_SETTINGS, null, '/modules/outgoing-mail-limits/index.php/ui/overview', false],
            [pm_Hook_CustomButtons::PLACE_DOMAIN_PROPERTIES_DYNAMIC, 'mail', '/modules/outgoing-mail-limits/index.php/ui/subscription', true],
            [pm_Hook_CustomButtons::PLACE_DOMAIN_PROPERTIES_DYNAMIC, 'mail', '/modules/outgoing-mail-limits/index.php/ui/domain', true],
            [pm_Hook_CustomButtons::PLACE_TOOLBAR, null, '/modules/outgoing-mail-limits/index.php/ui/domain', true],
        ], $where);
        $this->assertSame('Limit Outgoing Messages', $buttons[3]['title']);
        $this->assertSame('Limit Outgoing Messages', $buttons[5]['title']);
        $this->assertSame('isVisibleOnEmailAddressPages', $buttons[5]['visibility'][1]);
    }

    public function testTheEmailAddressToolbarButtonShowsOnlyOnThosePagesOfAManageableDomain(): void
    {
        $hook = new Modules_OutgoingMailLimits_CustomButtons();
        pm_Session::$client = PleskWorld::$jdoe;
        $this->assertTrue($hook->isVisibleOnEmailAddressPages(['controller' => 'email-address', 'dom_id' => 100]));
        $this->assertTrue($hook->isVisibleOnEmailAddressPages(['controller' => 'email-address', 'dom_id' => 100, 'site_id' => 101]));
        // Other pages' toolbars, another customer's domain, no domain named: hidden.
        $this->assertFalse($hook->isVisibleOnEmailAddressPages(['controller' => 'web', 'dom_id' => 100]));
        $this->assertFalse($hook->isVisibleOnEmailAddressPages(['dom_id' => 100]));
        $this->assertFalse($hook->isVisibleOnEmailAddressPages(['controller' => 'email-address', 'dom_id' => 200]));
        $this->assertFalse($hook->isVisibleOnEmailAddressPages(['controller' => 'email-address']));
        PleskWorld::$jdoe->permissions[Modules_OutgoingMailLimits_PleskObjects::PERMISSION][100] = false;
        $this->assertFalse($hook->isVisibleOnEmailAddressPages(['controller' => 'email-address', 'dom_id' => 100]));
        pm_Session::$client = PleskWorld::$admin;
        $this->assertTrue($hook->isVisibleOnEmailAddressPages(['controller' => 'email-address', 'dom_id' => 200]));
    }

    public function testDomainButtonsShowOnlyWhereThePersonMayManageLimits(): void
    {
        $hook = new Modules_OutgoingMailLimits_CustomButtons();
        pm_Session::$client = PleskWorld::$jdoe;
        $this->assertTrue($hook->isVisibleForDomain(['dom_id' => 100]));
        $this->assertTrue($hook->isVisibleForDomain(['site_id' => 101]));
        $this->assertFalse($hook->isVisibleForDomain(['dom_id' => 200]));
        $this->assertFalse($hook->isVisibleForDomain(['dom_id' => 100, 'alias_id' => 5]));
        $this->assertFalse($hook->isVisibleForDomain([]));
        // On an add-on domain's page Plesk sends its subscription as dom_id and the domain as site_id.
        $this->assertTrue($hook->isVisibleForDomain(['dom_id' => 100, 'site_id' => 101]));
        $this->assertFalse($hook->isVisibleForDomain(['dom_id' => 100, 'site_id' => 200]));
        PleskWorld::$jdoe->permissions[Modules_OutgoingMailLimits_PleskObjects::PERMISSION][100] = false;
        $this->assertFalse($hook->isVisibleForDomain(['dom_id' => 100]));
        $this->assertFalse($hook->isVisibleForDomain(['dom_id' => 100, 'site_id' => 101]), 'the add-on domain follows its subscription');
        pm_Session::$client = PleskWorld::$res1;
        $this->assertTrue($hook->isVisibleForDomain(['dom_id' => 100]));
        $this->assertFalse($hook->isVisibleForDomain(['dom_id' => 200]));
    }

    public function testNoPlanLimitsBesidePlesksOwnAndThePermissionHasAValidId(): void
    {
        // Plesk's plans have their own outgoing limits; they are this product's plan values (no second set).
        $this->assertFalse(class_exists('Modules_OutgoingMailLimits_Limits'));
        $this->assertFileDoesNotExist(pm_Context::getPlibDir() . 'hooks/Limits.php');
        $permissions = (new Modules_OutgoingMailLimits_Permissions())->getPermissions();
        $this->assertSame(['manage_outgoing_mail_limits'], array_keys($permissions));
        $this->assertSame('Manage outgoing mail limits', $permissions['manage_outgoing_mail_limits']['name']);
    }

    public function testTheSubFormIsAddedToTheMailboxSettingsFormOnly(): void
    {
        $hook = new Modules_OutgoingMailLimits_Form();
        $this->assertSame([], $hook->getSubForms('domain', 'create', pm_Hook_Form::FORM_CREATE_DOMAIN));
        $this->openMailboxForm(1);
        $forms = $hook->getSubForms('email-address', 'edit', pm_Hook_Form::FORM_EMAIL_ADDRESS_SETTINGS);
        $this->assertCount(1, $forms);
        $this->assertInstanceOf(Modules_OutgoingMailLimits_MailboxLimitSubForm::class, $forms[0]);
    }

    public function testTheSubFormShowsAndSavesTheMailboxLimit(): void
    {
        pm_Session::$client = PleskWorld::$jdoe;
        $form = $this->openMailboxForm(1);
        $this->assertSame('Limit Outgoing Messages', $form->legend);
        $this->assertSame('default', $form->getValue('outgoingLimitMode'));
        $this->assertSame(
            ['default' => 'Use the default (100 per hour)', 'unlimited' => 'Unlimited', 'custom' => 'Limit to'],
            $form->elements['outgoingLimitMode']['options']['multiOptions']
        );
        $form->populate(['outgoingLimitMode' => 'custom', 'outgoingLimitValue' => '30']);
        $form->process();
        $this->assertSame(30, $this->ownLimit('alice@jdoe.example'));

        $again = $this->openMailboxForm(1);
        $this->assertSame('custom', $again->getValue('outgoingLimitMode'));
        $this->assertSame('30', $again->getValue('outgoingLimitValue'));
        $back = $this->openMailboxForm(1);
        $back->populate(['outgoingLimitMode' => 'default']);
        $back->process();
        $this->assertSame('default', $this->ownLimit('alice@jdoe.example'));
    }

    public function testTheAdminMayChooseUnlimited(): void
    {
        $form = $this->openMailboxForm(1);
        $form->populate(['outgoingLimitMode' => 'unlimited']);
        $form->process();
        $this->assertSame('unlimited', $this->ownLimit('alice@jdoe.example'));
        $this->assertSame('unlimited', $this->openMailboxForm(1)->getValue('outgoingLimitMode'));
    }

    public function testTheBridgesRefusalIsTheFormsError(): void
    {
        PleskWorld::integration()->json('PUT', '/domains/jdoe.example/limit', ['limit' => 25]);
        pm_Session::$client = PleskWorld::$jdoe;
        $form = $this->openMailboxForm(1);
        $this->assertSame('The domain jdoe.example may send at most 25 per hour.', $form->elements['outgoingLimitValue']['options']['description']);
        $refusals = ['30' => 'The value must be in the range 0...25. Only the administrator can raise it.', '2.5' => 'must be a whole number', 'ten' => 'must be a whole number'];
        foreach ($refusals as $typed => $message) {
            $form->populate(['outgoingLimitMode' => 'custom', 'outgoingLimitValue' => $typed]);
            try {
                $form->process();
                $this->fail("{$typed} should have been refused");
            } catch (pm_Exception $refused) {
                $this->assertStringContainsString($message, $refused->getMessage());
            }
        }
        $this->assertSame('default', $this->ownLimit('alice@jdoe.example'));
    }

    public function testAValueLockedByAHigherRoleIsShownWithWhoSetItAndNeverBlocksTheForm(): void
    {
        PleskWorld::integration()->json('PUT', '/mailboxes/' . rawurlencode('alice@jdoe.example') . '/limit', ['limit' => 0]);
        pm_Session::$client = PleskWorld::$jdoe;
        $form = $this->openMailboxForm(1);
        $this->assertSame(['outgoingLimitLocked'], array_keys($form->elements));
        $this->assertSame('simpleText', $form->elements['outgoingLimitLocked']['type']);
        $this->assertSame(
            '0 per hour, set by the administrator plesk. Only they (or a higher role) can change it.',
            $form->elements['outgoingLimitLocked']['options']['value']
        );
        $form->process(); // Plesk's form saves; the locked value stays
        $this->assertSame(0, $this->ownLimit('alice@jdoe.example'));
    }

    public function testNoSubFormForOthersMailboxesOrWithoutPermission(): void
    {
        pm_Session::$client = PleskWorld::$mary;
        $this->assertSame([], $this->openMailboxForm(1)->elements);
        pm_Session::$client = PleskWorld::$jdoe;
        PleskWorld::$jdoe->permissions[Modules_OutgoingMailLimits_PleskObjects::PERMISSION][100] = false;
        $this->assertSame([], $this->openMailboxForm(1)->elements);
        $this->assertSame([], $this->openMailboxForm(3)->elements, 'sales@ of the add-on domain: same subscription');
        $this->assertSame([], $this->openMailboxForm(99)->elements);
    }

    public function testAnInternationalizedDomainNeverBreaksPlesksMailboxForm(): void
    {
        // Plesk finds domains by display name (Unicode); the mail account's address is in ASCII.
        new pm_Domain(300, 'xn--bcher-kva.example', 20, 0, null, 'bücher.example');
        pm_Bootstrap::$mail[8] = ['name' => 'info', 'domainId' => 300];
        PleskWorld::resync();
        pm_Session::$client = PleskWorld::$jdoe;
        $form = $this->openMailboxForm(8);
        if (function_exists('idn_to_utf8')) {
            $this->assertSame('default', $form->getValue('outgoingLimitMode'));
        } else {
            // Without PHP's intl the Unicode name cannot be made: the form goes on without our part.
            $this->assertSame([], $form->elements);
        }
    }

    public function testTheMailboxFormStillOpensWhenTheServiceIsDown(): void
    {
        $running = pm_Context::$varDir;
        pm_Context::$varDir = sys_get_temp_dir() . '/oml-nothing';
        try {
            $form = $this->openMailboxForm(1);
        } finally {
            pm_Context::$varDir = $running;
        }
        $this->assertSame('simpleText', $form->elements['outgoingLimitUnavailable']['type']);
        $this->assertStringStartsWith('The outgoing mail limits service is not running', $form->elements['outgoingLimitUnavailable']['options']['value']);
        $form->process(); // saves nothing, breaks nothing
        $this->assertSame('default', $this->ownLimit('alice@jdoe.example'));
    }

    public function testTheSubFormUsesOnlyDocumentedElementTypes(): void
    {
        // A type outside pm_Form_SubForm's documented list fails here as it would fail on a Plesk without it.
        try {
            (new pm_Form_SubForm())->addElement('description', 'x', ['description' => 'text']);
            $this->fail('the stand-in must refuse an undocumented element type');
        } catch (Zend_Loader_PluginLoader_Exception $refused) {
            $this->assertStringContainsString("'Description' was not found", $refused->getMessage());
        }
        $types = array_map(function ($element) {
            return $element['type'];
        }, $this->openMailboxForm(1)->elements);
        $this->assertSame(['outgoingLimitMode' => 'radio', 'outgoingLimitValue' => 'text', 'outgoingDailyLimitMode' => 'radio', 'outgoingDailyLimitValue' => 'text', 'outgoingRecipientLimitMode' => 'radio', 'outgoingRecipientLimitValue' => 'text'], $types);
    }

    private function openMailboxForm($mailId)
    {
        Zend_Controller_Front::getInstance()->request = new Zend_Controller_Request_Http('GET', '/smb/email-address/edit', ['id' => (string) $mailId]);
        return new Modules_OutgoingMailLimits_MailboxLimitSubForm();
    }

    private function ownLimit($address)
    {
        return PleskWorld::integration()->json('GET', '/mailboxes/' . rawurlencode($address))['data']['ownLimit'];
    }
}
