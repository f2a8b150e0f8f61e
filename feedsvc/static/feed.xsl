<?xml version="1.0" encoding="UTF-8"?>
<!--
  How an Atom or RSS feed of feedsvc looks when someone opens it in a browser: a German
  page that says what a feed is and how to subscribe, with the feed's address to copy
  and its newest entries. Feed readers never see this: they read the same bytes as XML.

  XSLT 1.0, the version browsers implement. No inline styles or scripts: the page runs
  under the Content-Security-Policy of the HTML pages (style-src 'self', script-src
  'self'), with feed.css and copy.js as its only resources. Text from the feed is only
  ever copied as text, never as markup.
-->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:atom="http://www.w3.org/2005/Atom"
    exclude-result-prefixes="atom">

  <xsl:output method="html" encoding="UTF-8" indent="no" doctype-system="about:legacy-compat"/>

  <xsl:variable name="site">Kommunale Pressemitteilungen</xsl:variable>

  <xsl:template match="/">
    <xsl:choose>
      <xsl:when test="atom:feed">
        <xsl:call-template name="page">
          <xsl:with-param name="kind">Atom</xsl:with-param>
          <xsl:with-param name="title"><xsl:apply-templates select="atom:feed/atom:title" mode="text"/></xsl:with-param>
          <xsl:with-param name="subtitle"><xsl:apply-templates select="atom:feed/atom:subtitle" mode="text"/></xsl:with-param>
          <xsl:with-param name="self" select="string(atom:feed/atom:link[@rel='self']/@href)"/>
          <xsl:with-param name="page" select="string(atom:feed/atom:link[@rel='alternate'][1]/@href)"/>
          <xsl:with-param name="count" select="count(atom:feed/atom:entry)"/>
        </xsl:call-template>
      </xsl:when>
      <xsl:otherwise>
        <xsl:call-template name="page">
          <xsl:with-param name="kind">RSS</xsl:with-param>
          <xsl:with-param name="title"><xsl:apply-templates select="rss/channel/title" mode="text"/></xsl:with-param>
          <xsl:with-param name="subtitle"><xsl:apply-templates select="rss/channel/description" mode="text"/></xsl:with-param>
          <xsl:with-param name="self" select="string(rss/channel/atom:link[@rel='self']/@href)"/>
          <xsl:with-param name="page" select="string(rss/channel/link)"/>
          <xsl:with-param name="count" select="count(rss/channel/item)"/>
        </xsl:call-template>
      </xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <xsl:template name="page">
    <xsl:param name="kind"/>
    <xsl:param name="title"/>
    <xsl:param name="subtitle"/>
    <xsl:param name="self"/>
    <xsl:param name="page"/>
    <xsl:param name="count"/>
    <html lang="de">
      <head>
        <meta charset="utf-8"/>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <meta name="robots" content="noindex"/>
        <title><xsl:value-of select="$kind"/>-Feed: <xsl:value-of select="$title"/> – <xsl:value-of select="$site"/></title>
        <link rel="icon" href="/static/favicon.svg" type="image/svg+xml"/>
        <link rel="stylesheet" href="/static/css/site.css"/>
        <link rel="stylesheet" href="/static/css/feed.css"/>
        <script src="/static/js/copy.js" defer="defer"></script>
      </head>
      <body class="feed-view">
        <header class="site-header">
          <div class="wrap site-header__inner">
            <a class="brand" href="/">
              <span class="brand__mark" aria-hidden="true">PM</span>
              <span class="brand__text"><strong><xsl:value-of select="$site"/></strong><small>aus Städten und Gemeinden</small></span>
            </a>
            <nav class="site-nav" aria-label="Hauptnavigation">
              <ul>
                <li><a href="/">Aktuell</a></li>
                <li><a href="/feeds">Feeds</a></li>
              </ul>
            </nav>
          </div>
        </header>
        <main id="inhalt" class="wrap">
          <header class="page-head">
            <p class="kicker"><xsl:value-of select="$kind"/>-Feed</p>
            <h1><xsl:value-of select="$title"/></h1>
            <xsl:if test="$subtitle != ''">
              <p class="page-head__intro"><xsl:value-of select="$subtitle"/></p>
            </xsl:if>
          </header>
          <section class="feed-about" aria-labelledby="about-heading">
            <h2 id="about-heading">Das ist ein Feed – zum Abonnieren, nicht zum Lesen im Browser</h2>
            <p>
              Ein Feed meldet neue Pressemitteilungen von selbst: Sie abonnieren ihn einmal in einem
              Feedreader (zum Beispiel Feedly, Inoreader, NetNewsWire, Thunderbird oder Outlook) oder
              in Ihrem Redaktionssystem, und jede neue Meldung erscheint dort, ohne dass Sie diese Seite
              wieder aufrufen müssen. Ihr Feedreader liest dieselbe Adresse, die Sie gerade geöffnet haben.
            </p>
            <h3>In einem Feedreader abonnieren</h3>
            <ol class="feed-about__steps">
              <li>
                Kopieren Sie die Adresse des Feeds:
                <span class="feed-url">
                  <a class="feed-url__link" href="{$self}" data-copy="" data-copy-label="Adresse des Feeds kopieren"><xsl:value-of select="$self"/></a>
                </span>
              </li>
              <li>Fügen Sie sie in Ihrem Feedreader als neues Abonnement ein (meist „Feed hinzufügen“ oder „Abonnieren“).</li>
            </ol>
            <p class="feed-about__more">
              <xsl:if test="$page != ''">
                <a href="{$page}">Diese Meldungen als Webseite lesen</a>
                <xsl:text> · </xsl:text>
              </xsl:if>
              <a href="/feeds">Alle Feeds im Überblick</a>
            </p>
          </section>
          <section class="feed-entries" aria-labelledby="entries-heading">
            <h2 id="entries-heading">Neueste Einträge (<xsl:value-of select="$count"/>)</h2>
            <xsl:choose>
              <xsl:when test="$count = 0">
                <p class="empty">Dieser Feed enthält noch keine Einträge.</p>
              </xsl:when>
              <xsl:otherwise>
                <xsl:apply-templates select="atom:feed/atom:entry | rss/channel/item"/>
              </xsl:otherwise>
            </xsl:choose>
          </section>
        </main>
        <p class="visually-hidden" role="status" aria-live="polite" data-copy-status=""></p>
        <!-- The site serves this file with its legal pages added to the list (web/site.py). -->
        <footer class="site-footer">
          <div class="wrap site-footer__inner">
            <p><strong><xsl:value-of select="$site"/></strong> – Meldungen der Pressestellen, zum Lesen und als Feed.</p>
            <ul>
              <li><a href="/feeds">Alle Feeds</a></li>
              <li><a href="/feeds.opml">OPML-Abonnementliste</a></li>
            </ul>
          </div>
        </footer>
      </body>
    </html>
  </xsl:template>

  <xsl:template match="atom:entry">
    <xsl:call-template name="entry">
      <xsl:with-param name="title"><xsl:apply-templates select="atom:title" mode="text"/></xsl:with-param>
      <xsl:with-param name="link" select="string(atom:link[not(@rel) or @rel='alternate'][1]/@href)"/>
      <xsl:with-param name="summary"><xsl:apply-templates select="atom:summary" mode="text"/></xsl:with-param>
      <xsl:with-param name="when">
        <xsl:call-template name="rfc3339">
          <xsl:with-param name="value" select="string((atom:published | atom:updated)[1])"/>
        </xsl:call-template>
      </xsl:with-param>
      <xsl:with-param name="instant" select="string((atom:published | atom:updated)[1])"/>
    </xsl:call-template>
  </xsl:template>

  <xsl:template match="item">
    <xsl:call-template name="entry">
      <xsl:with-param name="title"><xsl:apply-templates select="title" mode="text"/></xsl:with-param>
      <xsl:with-param name="link" select="string(link)"/>
      <xsl:with-param name="summary"><xsl:apply-templates select="description" mode="text"/></xsl:with-param>
      <xsl:with-param name="when">
        <xsl:call-template name="rfc822">
          <xsl:with-param name="value" select="normalize-space(pubDate)"/>
        </xsl:call-template>
      </xsl:with-param>
      <xsl:with-param name="instant" select="''"/>
    </xsl:call-template>
  </xsl:template>

  <xsl:template name="entry">
    <xsl:param name="title"/>
    <xsl:param name="link"/>
    <xsl:param name="summary"/>
    <xsl:param name="when"/>
    <xsl:param name="instant"/>
    <article class="card card--text feed-entry">
      <div class="card__body">
        <xsl:if test="$when != ''">
          <p class="meta">
            <xsl:choose>
              <xsl:when test="$instant != ''"><time datetime="{$instant}"><xsl:value-of select="$when"/></time></xsl:when>
              <xsl:otherwise><xsl:value-of select="$when"/></xsl:otherwise>
            </xsl:choose>
          </p>
        </xsl:if>
        <h3 class="card__title">
          <xsl:choose>
            <xsl:when test="$link != ''"><a href="{$link}"><xsl:value-of select="$title"/></a></xsl:when>
            <xsl:otherwise><xsl:value-of select="$title"/></xsl:otherwise>
          </xsl:choose>
        </h3>
        <xsl:if test="$summary != ''">
          <p class="card__summary"><xsl:value-of select="$summary"/></p>
        </xsl:if>
      </div>
    </article>
  </xsl:template>

  <!-- The text of a text construct. Atom's type="html" and RSS's elements hold escaped HTML
       ("Soziales &amp;amp; Familie"): its character references are resolved, and the result
       is written out as text again, so markup in a feed never becomes markup of the page. -->
  <xsl:template match="atom:*[@type='html']" mode="text">
    <xsl:call-template name="unescaped">
      <xsl:with-param name="text" select="string(.)"/>
    </xsl:call-template>
  </xsl:template>

  <xsl:template match="atom:*" mode="text">
    <xsl:value-of select="normalize-space(.)"/>
  </xsl:template>

  <xsl:template match="*" mode="text">
    <xsl:call-template name="unescaped">
      <xsl:with-param name="text" select="string(.)"/>
    </xsl:call-template>
  </xsl:template>

  <xsl:template name="unescaped">
    <xsl:param name="text"/>
    <xsl:variable name="lt">
      <xsl:call-template name="replaced">
        <xsl:with-param name="text" select="$text"/>
        <xsl:with-param name="from" select="'&amp;lt;'"/>
        <xsl:with-param name="to" select="'&lt;'"/>
      </xsl:call-template>
    </xsl:variable>
    <xsl:variable name="gt">
      <xsl:call-template name="replaced">
        <xsl:with-param name="text" select="$lt"/>
        <xsl:with-param name="from" select="'&amp;gt;'"/>
        <xsl:with-param name="to" select="'&gt;'"/>
      </xsl:call-template>
    </xsl:variable>
    <xsl:variable name="quot">
      <xsl:call-template name="replaced">
        <xsl:with-param name="text" select="$gt"/>
        <xsl:with-param name="from" select="'&amp;quot;'"/>
        <xsl:with-param name="to" select="'&quot;'"/>
      </xsl:call-template>
    </xsl:variable>
    <xsl:variable name="apos">
      <xsl:call-template name="replaced">
        <xsl:with-param name="text" select="$quot"/>
        <xsl:with-param name="from" select="'&amp;#39;'"/>
        <xsl:with-param name="to">'</xsl:with-param>
      </xsl:call-template>
    </xsl:variable>
    <!-- Last, so that "&amp;amp;lt;" stays "&amp;lt;". -->
    <xsl:call-template name="replaced">
      <xsl:with-param name="text" select="normalize-space($apos)"/>
      <xsl:with-param name="from" select="'&amp;amp;'"/>
      <xsl:with-param name="to" select="'&amp;'"/>
    </xsl:call-template>
  </xsl:template>

  <xsl:template name="replaced">
    <xsl:param name="text"/>
    <xsl:param name="from"/>
    <xsl:param name="to"/>
    <xsl:choose>
      <xsl:when test="contains($text, $from)">
        <xsl:value-of select="concat(substring-before($text, $from), $to)"/>
        <xsl:call-template name="replaced">
          <xsl:with-param name="text" select="substring-after($text, $from)"/>
          <xsl:with-param name="from" select="$from"/>
          <xsl:with-param name="to" select="$to"/>
        </xsl:call-template>
      </xsl:when>
      <xsl:otherwise><xsl:value-of select="$text"/></xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <!-- 2026-11-23T19:45:00+01:00 → 23.11.2026, 19:45 Uhr (the offset the feed gives: Berlin time) -->
  <xsl:template name="rfc3339">
    <xsl:param name="value"/>
    <xsl:if test="string-length($value) &gt;= 16">
      <xsl:value-of select="concat(substring($value, 9, 2), '.', substring($value, 6, 2), '.', substring($value, 1, 4), ', ', substring($value, 12, 5), ' Uhr')"/>
    </xsl:if>
  </xsl:template>

  <!-- Mon, 23 Nov 2026 19:45:00 +0100 → 23.11.2026, 19:45 Uhr -->
  <xsl:template name="rfc822">
    <xsl:param name="value"/>
    <xsl:variable name="rest">
      <xsl:choose>
        <xsl:when test="contains($value, ', ')"><xsl:value-of select="substring-after($value, ', ')"/></xsl:when>
        <xsl:otherwise><xsl:value-of select="$value"/></xsl:otherwise>
      </xsl:choose>
    </xsl:variable>
    <xsl:variable name="day" select="substring-before($rest, ' ')"/>
    <xsl:variable name="after-day" select="substring-after($rest, ' ')"/>
    <xsl:variable name="month-name" select="substring($after-day, 1, 3)"/>
    <xsl:variable name="months" select="'JanFebMarAprMayJunJulAugSepOctNovDec'"/>
    <xsl:variable name="month" select="(string-length(substring-before($months, $month-name)) div 3) + 1"/>
    <xsl:variable name="year" select="substring($after-day, 5, 4)"/>
    <xsl:variable name="time" select="substring($after-day, 10, 5)"/>
    <xsl:choose>
      <xsl:when test="$day != '' and contains($months, $month-name) and string-length($month-name) = 3">
        <xsl:value-of select="concat(format-number($day, '00'), '.', format-number($month, '00'), '.', $year, ', ', $time, ' Uhr')"/>
      </xsl:when>
      <xsl:otherwise><xsl:value-of select="$value"/></xsl:otherwise>
    </xsl:choose>
  </xsl:template>
</xsl:stylesheet>
