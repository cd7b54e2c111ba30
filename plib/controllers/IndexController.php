<?php
/**
 * The extension's entry in Plesk's extension list (index.php with no controller): the first screen the person
 * may use. Every screen lives in UiController (/index.php/ui/<screen>).
 */
class IndexController extends pm_Controller_Action
{
    protected $_accessLevel = ['admin', 'reseller', 'client'];

    public function init()
    {
        parent::init();
        $this->view->pageTitle = pm_Locale::lmsg('extensionName');
    }

    /** The admin starts at the server settings; resellers and customers at Outgoing Mail Control (their own). */
    public function indexAction()
    {
        $screen = pm_Session::getClient()->isAdmin() ? 'settings' : 'overview';
        $returnUrl = $screen === 'settings' ? Modules_OutgoingMailLimits_Screen::TOOLS_AND_SETTINGS_URL : null;
        $this->_helper->viewRenderer->setNoRender(true);
        $this->getResponse()->appendBody(Modules_OutgoingMailLimits_Screen::html($screen, null, $returnUrl));
    }
}
