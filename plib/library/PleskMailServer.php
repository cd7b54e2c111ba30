<?php
/**
 * Which mail server this Plesk runs, from the components Plesk reports (XML API server get <components/>) and
 * whether Postfix's configuration is on this host. Only Postfix here can be taken over. The component names
 * "postfix" and "qmail", and an empty version for one that is not installed, are assumed (Plesk's reference
 * lists the packet, not the names); see plib/README.md.
 */
class Modules_OutgoingMailLimits_PleskMailServer
{
    const POSTFIX = 'postfix';
    const QMAIL = 'qmail';
    const REMOTE = 'remote';
    const NONE = 'none';

    /** @param array<string, string> $components name => version, as PleskApi::server() answers them */
    public static function detect(array $components, $postfixConfigDir)
    {
        $installed = function ($name) use ($components) {
            return isset($components[$name]) && trim($components[$name]) !== '';
        };
        if ($installed(self::POSTFIX)) {
            // Plesk's Postfix with no configuration here: mail is handled on another host.
            return is_file(rtrim($postfixConfigDir, '/') . '/main.cf') ? self::POSTFIX : self::REMOTE;
        }
        return $installed(self::QMAIL) ? self::QMAIL : self::NONE;
    }

    /** Why install stops on anything but Postfix here, and what the admin can do. */
    public static function refusal($found, $postfixConfigDir)
    {
        $what = [
            self::QMAIL => 'Plesk uses qmail as its mail server',
            self::REMOTE => "Plesk reports Postfix, but there is no Postfix configuration on this host ({$postfixConfigDir}/main.cf): mail is sent by another server",
            self::NONE => 'Plesk has no mail server component installed',
        ];
        return 'Outgoing Mail Limits enforces limits inside Postfix on this server, but ' . $what[$found] . ".\n"
            . "Nothing was changed: Postfix, Plesk's own limits and the service are as they were.\n"
            . "To use this extension, switch Plesk's mail server to Postfix (Tools & Settings → Updates → Add/Remove Components → Mail hosting → Postfix), then install it again. Otherwise keep Plesk's own outgoing mail limits.";
    }
}
