<?php
/** "Manage outgoing mail limits": whether a customer sees the screens and the mailbox sub-form at all. */
class Modules_OutgoingMailLimits_Permissions extends pm_Hook_Permissions
{
    public function getPermissions()
    {
        return [
            Modules_OutgoingMailLimits_PleskObjects::PERMISSION => [
                'default' => true,
                'place' => self::PLACE_MAIN,
                'name' => pm_Locale::lmsg('permissionManage'),
                'description' => pm_Locale::lmsg('permissionManageDescription'),
            ],
        ];
    }
}
