<?php
// Hook base classes with the constants Plesk defines for them.

interface pm_Hook_Interface
{
}

interface EventListener
{
    public function filterActions();

    public function handleEvent($objectType, $objectId, $action, $oldValues, $newValues);
}

/** Values as in Plesk's SDK (pm-api-stubs, pm/Hook/CustomButtons.php): places are numbers, sections strings. */
abstract class pm_Hook_CustomButtons implements pm_Hook_Interface
{
    const PLACE_ADMIN_TOOLS_AND_SETTINGS = 5;
    const PLACE_RESELLER_TOOLS_AND_SETTINGS = 6;
    const PLACE_TOOLBAR = 10;
    const PLACE_LIST_ACTIONS = 11;
    const PLACE_DOMAIN_PROPERTIES_DYNAMIC = 16;
    const SECTION_ADMIN_TOOLS_MAIL = 'mailButtons';
    const SECTION_DOMAIN_PROPS_DYNAMIC_MAIL = 'mail';

    abstract public function getButtons();
}

abstract class pm_Hook_Form implements pm_Hook_Interface
{
    const FORM_EMAIL_ADDRESS_SETTINGS = 'smb-form-final-emailaddress';
    const FORM_CREATE_DOMAIN = 'smb-form-final-web-adddomain';

    public function getSubForms($controller, $action, $formId)
    {
        return [];
    }
}

abstract class pm_Hook_Limits implements pm_Hook_Interface
{
    const PLACE_MAIN = 'main';
    const PLACE_ADDITIONAL = 'additional';

    abstract public function getLimits();
}

abstract class pm_Hook_Permissions implements pm_Hook_Interface
{
    const PLACE_MAIN = 'main';
    const PLACE_ADDITIONAL = 'additional';

    abstract public function getPermissions();
}

/** What Zend's plugin loader throws for an element type it has no class for. */
class Zend_Loader_PluginLoader_Exception extends Exception
{
}

/** A Zend_Form_SubForm as far as sub-forms use it: elements with options and values. */
class pm_Form_SubForm
{
    /**
     * The element types pm_Form_SubForm::addElement documents (pm-api-stubs, pm/Form/SubForm.php); anything else
     * may be missing from a Plesk version, so the stand-in refuses it as Zend refuses an unknown one.
     */
    const DOCUMENTED_ELEMENT_TYPES = ['text', 'password', 'textarea', 'simpletext', 'select', 'radio', 'checkbox', 'hidden'];

    /** @var array<string, array{type: string, options: array}> */
    public $elements = [];
    public $legend = null;

    public function __construct($options = null)
    {
        $this->init();
    }

    public function init()
    {
    }

    public function setLegend($legend)
    {
        $this->legend = $legend;
        return $this;
    }

    public function addElement($type, $name, array $options = [])
    {
        if (!in_array(strtolower($type), self::DOCUMENTED_ELEMENT_TYPES, true)) {
            throw new Zend_Loader_PluginLoader_Exception("Plugin by name '" . ucfirst($type) . "' was not found in the registry.");
        }
        $this->elements[$name] = ['type' => $type, 'options' => $options];
        return $this;
    }

    public function getValue($name)
    {
        return isset($this->elements[$name]['options']['value']) ? $this->elements[$name]['options']['value'] : null;
    }

    /** What Zend does when the posted form is bound to the sub-form. */
    public function populate(array $values)
    {
        foreach ($values as $name => $value) {
            if (isset($this->elements[$name])) {
                $this->elements[$name]['options']['value'] = $value;
            }
        }
        return $this;
    }
}
