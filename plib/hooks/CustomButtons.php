<?php
/** Where the screens are opened from in Plesk's own pages. */
class Modules_OutgoingMailLimits_CustomButtons extends pm_Hook_CustomButtons
{
    /** Plesk's controller of the email address pages, as the visibility options name it. */
    const EMAIL_ADDRESS_CONTROLLER = 'email-address';

    public function getButtons()
    {
        $icon = pm_Context::getBaseUrl() . 'images/icon-32.png';
        return [
            [
                'place' => self::PLACE_ADMIN_TOOLS_AND_SETTINGS,
                'section' => self::SECTION_ADMIN_TOOLS_MAIL,
                'title' => pm_Locale::lmsg('buttonServerSettings'),
                'description' => pm_Locale::lmsg('buttonServerSettingsDescription'),
                'icon' => $icon,
                'link' => pm_Context::getActionUrl('ui', 'settings'),
            ],
            [
                'place' => self::PLACE_ADMIN_TOOLS_AND_SETTINGS,
                'section' => self::SECTION_ADMIN_TOOLS_MAIL,
                'title' => pm_Locale::lmsg('buttonOverview'),
                'description' => pm_Locale::lmsg('buttonOverviewDescription'),
                'icon' => $icon,
                'link' => pm_Context::getActionUrl('ui', 'overview'),
            ],
            [
                'place' => self::PLACE_RESELLER_TOOLS_AND_SETTINGS,
                'title' => pm_Locale::lmsg('buttonOverview'),
                'description' => pm_Locale::lmsg('buttonResellerOverviewDescription'),
                'icon' => $icon,
                'link' => pm_Context::getActionUrl('ui', 'overview'),
            ],
            [
                'place' => self::PLACE_DOMAIN_PROPERTIES_DYNAMIC,
                'section' => self::SECTION_DOMAIN_PROPS_DYNAMIC_MAIL,
                'title' => pm_Locale::lmsg('buttonSubscriptionLimits'),
                'description' => pm_Locale::lmsg('buttonSubscriptionLimitsDescription'),
                'icon' => $icon,
                'link' => pm_Context::getActionUrl('ui', 'subscription'),
                'contextParams' => true,
                'visibility' => [$this, 'isVisibleForDomain'],
            ],
            [
                'place' => self::PLACE_DOMAIN_PROPERTIES_DYNAMIC,
                'section' => self::SECTION_DOMAIN_PROPS_DYNAMIC_MAIL,
                'title' => pm_Locale::lmsg('buttonMailboxLimits'),
                'description' => pm_Locale::lmsg('buttonMailboxLimitsDescription'),
                'icon' => $icon,
                'link' => pm_Context::getActionUrl('ui', 'domain'),
                'contextParams' => true,
                'visibility' => [$this, 'isVisibleForDomain'],
            ],
            [
                // The toolbar of Plesk's email address pages (Domains → Email Addresses): PLACE_TOOLBAR with the
                // page's controller in the visibility options, as Plesk's sample extension plesk/ext-custom-buttons
                // shows it. Plesk documents no button place on one mail account, so this opens the domain's email
                // addresses with their limits; the mailbox form's sub-form edits the one address.
                'place' => self::PLACE_TOOLBAR,
                'title' => pm_Locale::lmsg('limitOutgoingMessages'),
                'description' => pm_Locale::lmsg('buttonMailboxLimitsDescription'),
                'icon' => $icon,
                'link' => pm_Context::getActionUrl('ui', 'domain'),
                'contextParams' => true,
                'visibility' => [$this, 'isVisibleOnEmailAddressPages'],
            ],
        ];
    }

    /**
     * On the toolbar of the email address pages of a domain the person may manage. That the options carry the
     * domain (site_id / dom_id, as contextParams do elsewhere) is assumed, not documented: without it the
     * button stays hidden rather than lead to a page that cannot say which domain.
     */
    public function isVisibleOnEmailAddressPages($options)
    {
        if (!isset($options['controller']) || $options['controller'] !== self::EMAIL_ADDRESS_CONTROLLER) {
            return false;
        }
        return $this->isVisibleForDomain($options);
    }

    /** Shown on a domain the person may manage; customers need the "Manage outgoing mail limits" permission. */
    public function isVisibleForDomain($options)
    {
        // site_id is the domain the page is about; dom_id its subscription (both come with contextParams).
        $id = isset($options['site_id']) ? (int) $options['site_id'] : (isset($options['dom_id']) ? (int) $options['dom_id'] : 0);
        if ($id <= 0 || isset($options['alias_id'])) {
            return false;
        }
        try {
            Modules_OutgoingMailLimits_PleskObjects::accessibleDomain($id);
            return true;
        } catch (pm_Exception $denied) {
            return false;
        }
    }
}
