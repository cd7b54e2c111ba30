<?php
/**
 * One action per screen. Each prints the mount element and loads the frontend bundle with the screen's props;
 * what a person may see and change inside a screen is decided by the bridge on every API call.
 */
class IndexController extends pm_Controller_Action
{
    protected $_accessLevel = ['admin', 'reseller', 'client'];

    public function init()
    {
        parent::init();
        $this->view->pageTitle = pm_Locale::lmsg('extensionName');
    }

    /** The extension's entry in Plesk's extension list: the first screen the person may use. */
    public function indexAction()
    {
        $client = pm_Session::getClient();
        if ($client->isAdmin()) {
            $this->_forward('settings');
        } elseif ($client->isReseller()) {
            $this->_forward('overview');
        } else {
            throw new pm_Exception(pm_Locale::lmsg('openFromDomain'));
        }
    }

    /** Server settings: the switch, default limits and counting unit (Tools & Settings → Mail). */
    public function settingsAction()
    {
        $this->requireRole(['admin']);
        $this->show('settings', []);
    }

    /** Outgoing Mail Control: every subscription with its usage (the admin's, or a reseller's customers'). */
    public function overviewAction()
    {
        $this->requireRole(['admin', 'reseller']);
        $this->show('overview', []);
    }

    /** The limits of one subscription and its domains (a domain's dynamic Mail section). */
    public function subscriptionAction()
    {
        $domain = Modules_OutgoingMailLimits_PleskObjects::accessibleDomain($this->domainIdParam());
        $subscription = Modules_OutgoingMailLimits_PleskObjects::subscriptionOf($domain);
        $this->show('subscription', ['subscription' => $subscription->getName(), 'domain' => $domain->getName()]);
    }

    /** The mailboxes of one domain with their limits and usage. */
    public function mailboxesAction()
    {
        $domain = Modules_OutgoingMailLimits_PleskObjects::accessibleDomain($this->domainIdParam());
        $subscription = Modules_OutgoingMailLimits_PleskObjects::subscriptionOf($domain);
        $this->show('mailboxes', ['subscription' => $subscription->getName(), 'domain' => $domain->getName()]);
    }

    private function domainIdParam()
    {
        $request = $this->getRequest();
        return $request->getParam('dom_id', $request->getParam('site_id', $request->getParam('id')));
    }

    private function requireRole(array $roles)
    {
        $identity = Modules_OutgoingMailLimits_Identity::fromClient(pm_Session::getClient());
        if (!in_array($identity->role, $roles, true)) {
            throw new pm_Exception('Access denied.');
        }
    }

    private function show($screen, array $context)
    {
        // The page keeps Plesk's layout (header, navigation, forgery_protection_token); only the body is ours.
        $this->_helper->viewRenderer->setNoRender(true);
        $this->getResponse()->appendBody(Modules_OutgoingMailLimits_Screen::html($screen, $context));
    }
}
