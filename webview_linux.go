package main

/*
#cgo !webkit2_41 pkg-config: gtk+-3.0 webkit2gtk-4.0
#cgo webkit2_41 pkg-config: gtk+-3.0 webkit2gtk-4.1
#include <stdlib.h>
#include <gtk/gtk.h>
#include <webkit2/webkit2.h>

// The window's one WebKitWebView: Wails creates it and keeps it to itself,
// so it is found among the toplevels' children.
static WebKitWebView *findWebView(GtkWidget *w) {
	if (WEBKIT_IS_WEB_VIEW(w)) return WEBKIT_WEB_VIEW(w);
	if (!GTK_IS_CONTAINER(w)) return NULL;
	GList *kids = gtk_container_get_children(GTK_CONTAINER(w));
	WebKitWebView *found = NULL;
	for (GList *l = kids; l != NULL && found == NULL; l = l->next) found = findWebView(GTK_WIDGET(l->data));
	g_list_free(kids);
	return found;
}

static WebKitWebView *theWebView(void) {
	GList *tops = gtk_window_list_toplevels();
	WebKitWebView *found = NULL;
	for (GList *l = tops; l != NULL && found == NULL; l = l->next) found = findWebView(GTK_WIDGET(l->data));
	g_list_free(tops);
	return found;
}

// Before any web process starts: one page of our own, no back/forward
// navigation, no disk or page cache to speak of.
//
// The variables go to C's environment only, which WebKit reads and hands
// to its web process; Go's copy, which the engine's children (notify
// command lines) inherit, does not get them. A value the user set wins.
// - WEBKIT_DISABLE_DMABUF_RENDERER: with hardware acceleration off (main.go)
//   the DMA-BUF renderer buys nothing and costs the window 7 MB.
// - JSC_useJIT=0: JavaScriptCore's interpreter alone; the page is small
//   and event-driven, and the JITs cost its web process 10 MB.
static void tuneContext(void) {
	setenv("WEBKIT_DISABLE_DMABUF_RENDERER", "1", 0);
	setenv("JSC_useJIT", "0", 0);
	webkit_web_context_set_cache_model(webkit_web_context_get_default(), WEBKIT_CACHE_MODEL_DOCUMENT_VIEWER);
}

static gboolean tuneView(gpointer unused) {
	WebKitWebView *v = theWebView();
	if (v != NULL) {
		WebKitSettings *s = webkit_web_view_get_settings(v);
		webkit_settings_set_enable_page_cache(s, FALSE);
	}
	return G_SOURCE_REMOVE;
}

static gboolean terminateView(gpointer unused) {
	WebKitWebView *v = theWebView();
	if (v != NULL) webkit_web_view_terminate_web_process(v);
	return G_SOURCE_REMOVE;
}

static gboolean reloadView(gpointer unused) {
	WebKitWebView *v = theWebView();
	if (v != NULL) webkit_web_view_reload(v);
	return G_SOURCE_REMOVE;
}

static void onMain(int what) {
	switch (what) {
	case 0: g_idle_add(tuneView, NULL); break;
	case 1: g_idle_add(terminateView, NULL); break;
	case 2: g_idle_add(reloadView, NULL); break;
	}
}
*/
import "C"

// webKitContext tunes WebKit's default context for a window that shows one
// local page. It runs on the main thread before wails.Run, so before the
// first web process starts.
func webKitContext() { C.tuneContext() }

// webViewLoaded tunes the view's settings once the page has loaded.
func webViewLoaded() { C.onMain(0) }

// webViewStop ends the web process (the view goes blank); webViewStart
// loads the page again, in a new one. Both run on GTK's main thread.
func webViewStop()  { C.onMain(1) }
func webViewStart() { C.onMain(2) }

// platformView is the window's WebKitWebView.
type platformView struct{}

func (platformView) Loaded() { webViewLoaded() }
func (platformView) Stop()   { webViewStop() }
func (platformView) Start()  { webViewStart() }
