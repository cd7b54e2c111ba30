<?php
/**
 * The screens: /modules/outgoing-mail-limits/index.php/ui/<screen>[?name=NAME], the links the frontend makes
 * between screens (frontend/README.md). Plesk's buttons open subscription and domain with site_id and dom_id
 * (contextParams) instead of name. Each action prints the mount element with the screen's props; what a person
 * may see and change inside a screen is decided again by the bridge on every API call.
 */
class UiController extends pm_Controller_Action
{
    protected $_accessLevel = ['admin', 'reseller', 'client'];

    public function init()
    {
        parent::init();
        $this->view->pageTitle = pm_Locale::lmsg('extensionName');
    }

    /** Server settings: the switch, default limits and counting unit (Tools & Settings → Mail). */
    public function settingsAction()
    {
        if (!pm_Session::getClient()->isAdmin()) {
            $this->getResponse()->setHttpResponseCode(403);
            throw new pm_Exception(pm_Locale::lmsg('adminOnly'));
        }
        $this->show('settings', null, Modules_OutgoingMailLimits_Screen::TOOLS_AND_SETTINGS_URL);
    }

    /** Outgoing Mail Control: the bridge shows each role what is its own (whole server for the admin only). */
    public function overviewAction()
    {
        $this->show('overview');
    }

    public function subscriptionsAction()
    {
        $this->show('subscriptions');
    }

    /**
     * Held messages (the link of notifications: ui/held?level=...&name=...): everyone; with `name`, that
     * object's held mail. The bridge lists only held mail of the person's own objects, so the name is passed on
     * as it is (a mailbox address, domain or subscription name).
     */
    public function heldAction()
    {
        $name = strtolower(trim((string) $this->getRequest()->getParam('name', '')));
        if (strlen($name) > 320) {
            $this->getResponse()->setHttpResponseCode(404);
            throw new pm_Exception(pm_Locale::lmsg('domainNotFound', ['name' => substr($name, 0, 64) . '…']));
        }
        $this->show('held', $name === '' ? null : $name);
    }

    /**
     * History (who changed which limit when): everyone; the bridge lists only changes of the person's own objects.
     * With `name`, the changes of that object.
     */
    public function historyAction()
    {
        $name = strtolower(trim((string) $this->getRequest()->getParam('name', '')));
        if (strlen($name) > 320) {
            $this->getResponse()->setHttpResponseCode(404);
            throw new pm_Exception(pm_Locale::lmsg('domainNotFound', ['name' => substr($name, 0, 64) . '…']));
        }
        $this->show('history', $name === '' ? null : $name);
    }

    /** The limits of one subscription and its domains; a domain's name opens the subscription it belongs to. */
    public function subscriptionAction()
    {
        $domain = $this->requestedDomain();
        $main = Modules_OutgoingMailLimits_PleskObjects::subscriptionOf($domain);
        $this->show('subscription', Modules_OutgoingMailLimits_PleskDirectory::asciiDomain($main->getName()));
    }

    /** The mailboxes of one domain with their limits and usage. */
    public function domainAction()
    {
        $domain = $this->requestedDomain();
        $this->show('domain', Modules_OutgoingMailLimits_PleskDirectory::asciiDomain($domain->getName()));
    }

    /**
     * The domain named by `name` (or site_id, else dom_id) if the person may manage its limits. A domain that does not
     * exist and one of somebody else get the same 404 answer, so names of other customers cannot be probed.
     */
    private function requestedDomain()
    {
        $request = $this->getRequest();
        $name = trim((string) $request->getParam('name', ''));
        // Plesk's dynamic domain buttons (contextParams) send dom_id, the subscription, and site_id, the domain
        // the button was clicked on: site_id says which domain is meant.
        $id = (int) $request->getParam('site_id', $request->getParam('dom_id', 0));
        $domain = $name !== ''
            ? Modules_OutgoingMailLimits_PleskObjects::domainByName($name)
            : Modules_OutgoingMailLimits_PleskObjects::domainById($id);
        if ($domain === null || !pm_Session::getClient()->hasAccessToDomain($domain->getId())) {
            $this->getResponse()->setHttpResponseCode(404);
            throw new pm_Exception(pm_Locale::lmsg('domainNotFound', ['name' => $name !== '' ? $name : (string) $id]));
        }
        try {
            return Modules_OutgoingMailLimits_PleskObjects::accessibleDomain($domain->getId());
        } catch (pm_Exception $refused) {
            $this->getResponse()->setHttpResponseCode(403);
            throw $refused;
        }
    }

    private function show($screen, $name = null, $returnUrl = null)
    {
        // The page keeps Plesk's layout (header, navigation, forgery_protection_token); only the body is ours.
        $this->_helper->viewRenderer->setNoRender(true);
        $this->getResponse()->appendBody(Modules_OutgoingMailLimits_Screen::html($screen, $name, $returnUrl));
    }
}
