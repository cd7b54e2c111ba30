<?php
/**
 * What a screen action prints: the mount element and the RequireJS call that loads the frontend's AMD bundle
 * (htdocs/dist/main.js) and calls its default export with the screen's props.
 */
class Modules_OutgoingMailLimits_Screen
{
    const MOUNT_ID = 'outgoing-mail-limits';

    /**
     * @param string $screen settings, overview, subscription or mailboxes
     * @param array $context the screen's object, e.g. ['subscription' => 'example.com']
     */
    public static function html($screen, array $context)
    {
        $base = rtrim(pm_Context::getBaseUrl(), '/');
        $props = [
            'moduleId' => self::MOUNT_ID,
            'baseUrl' => $base,
            'apiBaseUrl' => $base . '/index.php/api',
            'locale' => self::locale(),
            'screen' => $screen,
            'context' => (object) $context,
            'forgeryToken' => Modules_OutgoingMailLimits_ForgeryToken::current(),
        ];
        // JSON_HEX_* keep "</script>" and quotes in names from ending the script element early.
        $json = json_encode($props, JSON_HEX_TAG | JSON_HEX_AMP | JSON_HEX_APOS | JSON_HEX_QUOT | JSON_UNESCAPED_SLASHES | JSON_THROW_ON_ERROR);
        $bundle = json_encode($base . '/dist/main.js', JSON_HEX_TAG | JSON_UNESCAPED_SLASHES);
        return '<div id="' . self::MOUNT_ID . '"></div>' . "\n"
            . '<script>require([' . $bundle . '], function (bundle) { bundle.default(' . $json . '); });</script>' . "\n";
    }

    private static function locale()
    {
        $locale = class_exists('pm_Locale') && method_exists('pm_Locale', 'getCode') ? pm_Locale::getCode() : 'en-US';
        return $locale ?: 'en-US';
    }
}
