package org.agentflan.launch;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;

/**
 * An I/O failure as one line naming the path and what is wrong. The JDK's file exceptions often carry just the path
 * ({@code NoSuchFileException: /x}), so the reason comes from their type; any line breaks of a library's message are
 * folded, so a CLI error stays one line.
 */
final class IoFailure {
    private IoFailure() {}

    static String describe(IOException e) {
        if (e instanceof FileSystemException f && f.getReason() == null) {
            String reason = e instanceof NoSuchFileException ? "no such file or folder"
                    : e instanceof FileAlreadyExistsException ? "already exists"
                    : e instanceof AccessDeniedException ? "permission denied"
                    : e instanceof NotDirectoryException ? "not a folder"
                    : e instanceof DirectoryNotEmptyException ? "folder not empty"
                    : e.getClass().getSimpleName();
            return ErrorLines.oneLine(f.getMessage() + ": " + reason);
        }
        return ErrorLines.oneLine(e.getMessage() == null ? e.toString() : e.getMessage());
    }

    static String describe(UncheckedIOException e) {
        return e.getMessage() != null && !e.getMessage().equals(String.valueOf(e.getCause()))
                ? ErrorLines.oneLine(e.getMessage() + ": " + describe(e.getCause())) : describe(e.getCause());
    }
}
