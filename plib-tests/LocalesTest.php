<?php
use PHPUnit\Framework\TestCase;

final class LocalesTest extends TestCase
{
    protected function setUp(): void
    {
        PleskWorld::reset();
    }

    /** @return array<string, string> the messages of one locale file */
    private static function messagesOf($locale)
    {
        $messages = null;
        include dirname(__DIR__) . '/plib/resources/locales/' . $locale . '.php';
        return $messages;
    }

    private static function placeholders($text)
    {
        preg_match_all('/%%(\w+)%%/', $text, $found);
        $names = $found[1];
        sort($names);
        return implode(',', $names);
    }

    public function localeProvider()
    {
        return [['de-DE'], ['ru-RU']];
    }

    /** @dataProvider localeProvider */
    public function testEveryLocaleHasEveryKeyOfEnUsAndNoOtherWithTheSamePlaceholders($locale): void
    {
        $english = self::messagesOf('en-US');
        $translated = self::messagesOf($locale);
        $this->assertIsArray($translated, "{$locale}.php defines no \$messages");
        $this->assertSame([], array_values(array_diff(array_keys($english), array_keys($translated))), "keys missing in {$locale}.php");
        $this->assertSame([], array_values(array_diff(array_keys($translated), array_keys($english))), "keys in {$locale}.php that en-US.php lacks");
        foreach ($english as $key => $text) {
            $this->assertNotSame('', trim($translated[$key]), "{$locale}.php: {$key} is empty");
            $this->assertSame(self::placeholders($text), self::placeholders($translated[$key]), "{$locale}.php: placeholders of {$key}");
        }
    }

    public function testPlesksButtonsAndTheScreenPropsFollowPlesksLocale(): void
    {
        PleskWorld::resync();
        pm_Locale::$code = 'de-DE';
        $buttons = (new Modules_OutgoingMailLimits_CustomButtons())->getButtons();
        $this->assertSame('Ausgehende Nachrichten begrenzen', $buttons[3]['title']);
        $this->assertSame('de-DE', json_decode(self::propsJson(Modules_OutgoingMailLimits_Screen::html('overview')), true)['locale']);

        pm_Locale::$code = 'ru-RU';
        $buttons = (new Modules_OutgoingMailLimits_CustomButtons())->getButtons();
        $this->assertSame('Ограничить исходящие сообщения', $buttons[3]['title']);
        $this->assertSame('ru-RU', json_decode(self::propsJson(Modules_OutgoingMailLimits_Screen::html('overview')), true)['locale']);
    }

    private static function propsJson($html)
    {
        preg_match('#bundle\.default\((.*)\); \}\);</script>#', $html, $match);
        return $match[1];
    }
}
