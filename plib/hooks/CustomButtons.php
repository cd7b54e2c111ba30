<?php
/** Where the screens are opened from in Plesk's own pages. */
class Modules_OutgoingMailLimits_CustomButtons extends pm_Hook_CustomButtons
{
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
        ];
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
